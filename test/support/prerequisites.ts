import { spawnSync } from 'node:child_process';
import { accessSync, constants, readFileSync } from 'node:fs';
import path from 'node:path';

/**
 * What `npm test` needs besides Node: signatures are checked by gpg and Sequoia as well as
 * openpgp.js, the integration tests talk to a real Redis, and verify.html runs in the system's
 * headless Chromium (playwright-core never downloads a browser; see {@link findChromium}).
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

/** Whether `file` is there and may be executed. */
export function isExecutable(file: string): boolean {
  try {
    accessSync(file, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** The first executable file named `command` in PATH's directories, or null. */
export function findOnPath(command: string, pathVar = process.env.PATH ?? ''): string | null {
  for (const dir of pathVar.split(path.delimiter).filter(Boolean)) {
    const file = path.join(dir, command);
    if (isExecutable(file)) return file;
  }
  return null;
}

/** Whether `command` is an executable file in one of PATH's directories. */
export function onPath(command: string, pathVar = process.env.PATH ?? ''): boolean {
  return findOnPath(command, pathVar) !== null;
}

/** Names the browser the verify.html tests run in, over any found by looking. */
export const CHROMIUM_ENV = 'TOCSIN_TEST_CHROMIUM';
/** Where macOS keeps the browsers its installers (brew --cask, the vendors' images) put in /Applications. */
export const MACOS_BROWSERS = ['/Applications/Chromium.app/Contents/MacOS/Chromium', '/Applications/Google Chrome.app/Contents/MacOS/Google Chrome'] as const;

/**
 * The Chromium (or Chrome) the browser tests launch: the one TOCSIN_TEST_CHROMIUM names (and no
 * other, even when it is not there: a wrong name must not pass unnoticed), else `chromium` or
 * `chromium-browser` on PATH (Debian's /usr/bin/chromium), else on macOS the Chromium or Google
 * Chrome app. Null when there is none.
 */
export function findChromium(env: NodeJS.ProcessEnv = process.env, platform: NodeJS.Platform = process.platform, executable = isExecutable): string | null {
  const named = env[CHROMIUM_ENV];
  if (named) return executable(named) ? named : null;
  for (const command of ['chromium', 'chromium-browser']) {
    const found = findOnPath(command, env.PATH ?? '');
    if (found) return found;
  }
  if (platform === 'darwin') return MACOS_BROWSERS.find((app) => executable(app)) ?? null;
  return null;
}

export function missingTools(env: NodeJS.ProcessEnv = process.env, platform: NodeJS.Platform = process.platform): Tool[] {
  return TOOLS.filter((t) => (t === 'chromium' ? findChromium(env, platform) === null : !onPath(t, env.PATH ?? '')));
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
  const named = process.env[CHROMIUM_ENV];
  if (named && !isExecutable(named)) return `npm test: ${CHROMIUM_ENV}=${named} is not an executable file; name a Chromium or Chrome binary, or unset it`;
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
