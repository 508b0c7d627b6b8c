import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { findChromium, MACOS_BROWSERS, missingTools, osKind, planPrerequisites, TOOLS, type Platform } from '../support/prerequisites';

const DEBIAN = `PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\nID=debian\nVERSION_ID="12"\n`;
const UBUNTU = `NAME="Ubuntu"\nID=ubuntu\nID_LIKE=debian\n`;
const MINT = `NAME="Linux Mint"\nID=linuxmint\nID_LIKE="ubuntu debian"\n`;
const FEDORA = `NAME="Fedora Linux"\nID=fedora\n`;

describe("npm test's prerequisites: install, or stop naming each tool and the command", () => {
  it('tells Debian, its derivatives, macOS and the rest apart', () => {
    expect(osKind(DEBIAN, 'linux')).toBe('debian');
    expect(osKind(UBUNTU, 'linux')).toBe('debian');
    expect(osKind(MINT, 'linux')).toBe('debian');
    expect(osKind(FEDORA, 'linux')).toBe('other');
    expect(osKind(null, 'linux')).toBe('other');
    expect(osKind(null, 'darwin')).toBe('macos');
    expect(osKind(DEBIAN, 'win32')).toBe('other');
  });

  it('does nothing when nothing is missing, wherever it runs', () => {
    for (const os of ['debian', 'macos', 'other'] as const) expect(planPrerequisites([], { os, uid: 1000, aptGet: false })).toEqual({ action: 'none' });
  });

  it('installs with apt-get only on Debian or Ubuntu as root with apt-get at hand', () => {
    const rootDebian: Platform = { os: 'debian', uid: 0, aptGet: true };
    expect(planPrerequisites([...TOOLS], rootDebian)).toEqual({ action: 'install', packages: ['redis-server', 'gnupg', 'sq', 'chromium'] });
    expect(planPrerequisites(['sq'], rootDebian)).toEqual({ action: 'install', packages: ['sq'] });
    for (const platform of [
      { os: 'debian', uid: 1000, aptGet: true },
      { os: 'debian', uid: 0, aptGet: false },
      { os: 'other', uid: 0, aptGet: true },
      { os: 'macos', uid: 0, aptGet: false },
    ] satisfies Platform[]) {
      expect(planPrerequisites(['sq'], platform).action).toBe('stop');
    }
  });

  it('names each missing tool and gives the command for this platform', () => {
    const asUser = planPrerequisites(['redis-server', 'chromium'], { os: 'debian', uid: 1000, aptGet: true });
    expect(asUser).toEqual({
      action: 'stop',
      message: 'npm test: missing redis-server, chromium (see README "Quick start"). Install with:\n  sudo apt-get install -y redis-server chromium',
    });
    // Root without apt-get (a stripped image): the same command, without sudo.
    const plan = planPrerequisites(['gpg'], { os: 'debian', uid: 0, aptGet: false });
    expect(plan.action === 'stop' && plan.message.split('\n')[1]).toBe('  apt-get install -y gnupg');
    const mac = planPrerequisites([...TOOLS], { os: 'macos', uid: 501, aptGet: false });
    expect(mac.action === 'stop' && mac.message.split('\n')[1]).toBe('  brew install redis gnupg sequoia-sq && brew install --cask chromium');
  });

  it('gives both the Debian and the macOS command where it cannot tell', () => {
    const plan = planPrerequisites(['sq', 'gpg'], { os: 'other', uid: 1000, aptGet: false });
    expect(plan.action).toBe('stop');
    const lines = plan.action === 'stop' ? plan.message.split('\n') : [];
    expect(lines[0]).toMatch(/missing sq, gpg/);
    expect(lines.slice(1)).toEqual(['  sudo apt-get install -y sq gnupg    # Debian/Ubuntu', '  brew install sequoia-sq gnupg    # macOS']);
  });

  describe('the browser the verify.html tests launch', () => {
    let bin: string;
    const exe = (name: string) => {
      const file = path.join(bin, name);
      writeFileSync(file, '');
      chmodSync(file, 0o755);
      return file;
    };
    beforeEach(() => {
      bin = mkdtempSync(path.join(tmpdir(), 'tocsin-browsers-'));
    });
    afterEach(() => rmSync(bin, { recursive: true, force: true }));

    it('is chromium or chromium-browser on PATH (Debian, Ubuntu), and none on a PATH without them', () => {
      expect(findChromium({ PATH: bin }, 'linux')).toBeNull();
      const browser = exe('chromium-browser');
      expect(findChromium({ PATH: bin }, 'linux')).toBe(browser);
      expect(findChromium({ PATH: bin }, 'linux', () => false)).toBe(browser);
      const debian = exe('chromium');
      expect(findChromium({ PATH: `/nonexistent${path.delimiter}${bin}` }, 'linux')).toBe(debian);
      expect(missingTools({ PATH: bin }, 'linux')).toEqual(['redis-server', 'gpg', 'sq']);
    });

    it("is the Chromium app, else Google Chrome's, on macOS", () => {
      const present = new Set<string>(MACOS_BROWSERS);
      const executable = (f: string) => present.has(f);
      expect(findChromium({ PATH: bin }, 'darwin', executable)).toBe('/Applications/Chromium.app/Contents/MacOS/Chromium');
      present.delete(MACOS_BROWSERS[0]);
      expect(findChromium({ PATH: bin }, 'darwin', executable)).toBe('/Applications/Google Chrome.app/Contents/MacOS/Google Chrome');
      present.clear();
      expect(findChromium({ PATH: bin }, 'darwin', executable)).toBeNull();
      // Not looked for elsewhere: a Linux machine has no /Applications.
      expect(findChromium({ PATH: bin }, 'linux', () => true)).toBeNull();
    });

    it('is the one TOCSIN_TEST_CHROMIUM names, and missing when that is not executable, whatever else is there', () => {
      exe('chromium');
      const chosen = exe('my-chrome');
      expect(findChromium({ PATH: bin, TOCSIN_TEST_CHROMIUM: chosen }, 'linux')).toBe(chosen);
      expect(findChromium({ PATH: bin, TOCSIN_TEST_CHROMIUM: path.join(bin, 'absent') }, 'darwin', (f) => f !== path.join(bin, 'absent'))).toBeNull();
      expect(missingTools({ PATH: bin, TOCSIN_TEST_CHROMIUM: path.join(bin, 'absent') }, 'linux')).toContain('chromium');
    });
  });
});
