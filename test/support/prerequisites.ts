import { spawnSync } from 'node:child_process';
import { accessSync, constants, readFileSync } from 'node:fs';
import path from 'node:path';

/**
 * What `npm test` needs besides Node: signatures are checked by gpg and Sequoia as well as
 * openpgp.js, the integration tests talk to a real Redis, and verify.html runs in the system's
 * headless Chromium (playwright-core never downloads a browser).
 */
export const TOOLS = ['redis-server', 'gpg', 'sq', 'chromium'] as const;
export type Tool = (typeof TOOLS)[number];

/** The package that brings each tool, per package manager. */
const PACKAGES: Record<Tool, { debian: string; brew: string }> = {
  'redis-server': { debian: 'redis-server', brew: 'redis' },
  gpg: { debian: 'gnupg', brew: 'gnupg' },
  sq: { debian: 'sq', brew: 'sequoia-sq' },
  chromium: { debian: 'chromium', brew: '--cask chromium' },
};

/** The facts the decision depends on, gathered by {@link probePlatform}. */
export interface Platform {
  /** From /etc/os-release (ID or ID_LIKE debian/ubuntu) and process.platform. */
  os: 'debian' | 'macos' | 'other';
  /** null where there are no uids (Windows). */
  uid: number | null;
  /** Whether apt-get is on PATH. */
  aptGet: boolean;
}

export type Plan =
  | { action: 'none' }
  /** Debian or Ubuntu as root (a container, a CI runner): apt-get can do it without asking anyone. */
  | { action: 'install'; packages: string[] }
  /** Anywhere else: one message naming each missing tool and the command that installs them. */
  | { action: 'stop'; message: string };

export function debianInstallCommand(tools: readonly Tool[], root: boolean): string {
  return `${root ? '' : 'sudo '}apt-get install -y ${tools.map((t) => PACKAGES[t].debian).join(' ')}`;
}

export function brewInstallCommand(tools: readonly Tool[]): string {
  const formulae = tools.filter((t) => !PACKAGES[t].brew.startsWith('--cask')).map((t) => PACKAGES[t].brew);
  const casks = tools.filter((t) => PACKAGES[t].brew.startsWith('--cask')).map((t) => PACKAGES[t].brew.replace('--cask ', ''));
  return [formulae.length ? `brew install ${formulae.join(' ')}` : '', casks.length ? `brew install --cask ${casks.join(' ')}` : ''].filter(Boolean).join(' && ');
}

/** Pure: what to do about the missing tools on this platform. */
export function planPrerequisites(missing: readonly Tool[], platform: Platform): Plan {
  if (missing.length === 0) return { action: 'none' };
  const root = platform.uid === 0;
  if (platform.os === 'debian' && root && platform.aptGet) return { action: 'install', packages: missing.map((t) => PACKAGES[t].debian) };
  const commands =
    platform.os === 'debian'
      ? [`  ${debianInstallCommand(missing, root)}`]
      : platform.os === 'macos'
        ? [`  ${brewInstallCommand(missing)}`]
        : [`  ${debianInstallCommand(missing, root)}    # Debian/Ubuntu`, `  ${brewInstallCommand(missing)}    # macOS`];
  return {
    action: 'stop',
    message: [`npm test: missing ${missing.join(', ')} (see README "Quick start"). Install with:`, ...commands].join('\n'),
  };
}

/** Reads an os-release file's ID and ID_LIKE into our three kinds of platform. */
export function osKind(osRelease: string | null, platform: NodeJS.Platform): Platform['os'] {
  if (platform === 'darwin') return 'macos';
  if (platform !== 'linux' || osRelease === null) return 'other';
  const ids = [...osRelease.matchAll(/^(?:ID|ID_LIKE)=["']?([^"'\n]*)/gm)].flatMap((m) => (m[1] ?? '').split(/\s+/));
  return ids.some((id) => id === 'debian' || id === 'ubuntu') ? 'debian' : 'other';
}

/** Whether `command` is an executable file in one of PATH's directories. */
export function onPath(command: string, pathVar = process.env.PATH ?? ''): boolean {
  return pathVar
    .split(path.delimiter)
    .filter(Boolean)
    .some((dir) => {
      try {
        accessSync(path.join(dir, command), constants.X_OK);
        return true;
      } catch {
        return false;
      }
    });
}

export function missingTools(pathVar = process.env.PATH ?? ''): Tool[] {
  return TOOLS.filter((t) => !onPath(t, pathVar));
}

export function probePlatform(): Platform {
  let osRelease: string | null = null;
  try {
    osRelease = readFileSync('/etc/os-release', 'utf8');
  } catch {
    osRelease = null;
  }
  return { os: osKind(osRelease, process.platform), uid: process.getuid?.() ?? null, aptGet: onPath('apt-get') };
}

/**
 * Makes sure every tool is there: installs the missing ones where that is safe to do unasked,
 * otherwise returns the message to stop with. Returns null when all is in place.
 */
export function ensurePrerequisites(log: (line: string) => void = (l) => console.error(l)): string | null {
  const missing = missingTools();
  const plan = planPrerequisites(missing, probePlatform());
  if (plan.action === 'none') return null;
  if (plan.action === 'stop') return plan.message;
  log(`npm test: installing ${plan.packages.join(' ')} for ${missing.join(', ')} (Debian packages; running as root)`);
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  for (const args of [['update', '-qq'], ['install', '-y', '-qq', ...plan.packages]]) {
    const r = spawnSync('apt-get', args, { env, stdio: ['ignore', 'ignore', 'inherit'] });
    if (r.status !== 0) return `npm test: "apt-get ${args.join(' ')}" failed (exit ${r.status ?? r.signal}); install ${plan.packages.join(' ')} yourself and run npm test again`;
  }
  const still = missingTools();
  return still.length === 0 ? null : `npm test: ${still.join(', ')} still missing after apt-get install ${plan.packages.join(' ')}`;
}
