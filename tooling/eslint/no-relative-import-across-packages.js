import { existsSync } from 'node:fs';
import path from 'node:path';

/** The nearest folder holding a package.json, from `dir` up: the package a file belongs to. */
const packageRoots = new Map();
function packageRootOf(dir) {
  if (!packageRoots.has(dir)) {
    const parent = path.dirname(dir);
    packageRoots.set(
      dir,
      existsSync(path.join(dir, 'package.json')) || parent === dir ? dir : packageRootOf(parent),
    );
  }
  return packageRoots.get(dir);
}

/**
 * A relative import that leaves its package (`../../apps/web/src/…`) reaches into another
 * package's files past its entries and past `mustNotImport`: import the package by its name,
 * through an entry its package.json exports.
 */
export const noRelativeImportAcrossPackages = {
  meta: {
    type: 'problem',
    docs: { description: 'Forbid relative imports that leave the package' },
    schema: [],
    messages: {
      across:
        "'{{source}}' leaves this package ({{own}}): import the other package by its name, through an entry it exports.",
    },
  },
  create(context) {
    const dir = path.dirname(context.filename);
    const own = packageRootOf(dir);
    const check = (node) => {
      const source = node?.value;
      if (typeof source !== 'string' || !source.startsWith('.')) return;
      const target = path.resolve(dir, source);
      if (target === own || target.startsWith(own + path.sep)) return;
      context.report({ node, messageId: 'across', data: { source, own: path.basename(own) } });
    };
    return {
      ImportDeclaration: (node) => check(node.source),
      ExportNamedDeclaration: (node) => check(node.source),
      ExportAllDeclaration: (node) => check(node.source),
      ImportExpression: (node) => node.source.type === 'Literal' && check(node.source),
    };
  },
};
