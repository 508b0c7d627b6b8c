/**
 * `npm run check:cycles` (part of `npm run check`): no module may reach itself through its imports.
 *
 * Type-only imports count (`tsPreCompilationDeps`): they vanish from the compiled JavaScript, so
 * they cannot half-initialise a module at start-up, but they still say "read that module first",
 * and one `type` keyword separates them from a value import that can. The path of one advisory
 * reads top-down only if no module, for types or for values, reaches back up it. A lazy
 * `require()` inside a function is an import like any other here.
 */
module.exports = {
  forbidden: [
    {
      name: 'no-import-cycle',
      severity: 'error',
      comment:
        'A module must not depend on itself through others. Move the shared piece (a name, a type) ' +
        'down into a module that imports nothing, rather than requiring it lazily.',
      from: { path: '^(src|workers|test)/' },
      to: { circular: true },
    },
  ],
  options: {
    // Unanchored: a node_modules reached through a symlink (a git worktree's) resolves elsewhere.
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '^dist/' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
  },
};
