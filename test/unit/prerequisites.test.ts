import { osKind, planPrerequisites, TOOLS, type Platform } from '../support/prerequisites';

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
});
