import { execFileSync } from 'node:child_process';

/** The end-to-end tests drive the built CLI, so build once before any test runs. */
export default function globalSetup(): void {
  execFileSync(process.execPath, [require.resolve('typescript/bin/tsc'), '-p', 'tsconfig.build.json'], { stdio: 'inherit' });
}
