// The README's "Format dumps" section documents the JSON documents whose zod schemas are the source:
// every section kind and item body kind in the schemas has its row, and each row names every field.

import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { z } from 'zod';
import { itemBodySchema } from '../lib/dump/item.js';
import { sectionSchema } from '../lib/dump/document.js';

const README = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', 'README.md');

function formatDumpsSection(): string {
  const text = fs.readFileSync(README, 'utf8');
  const start = text.indexOf('\n## Format dumps\n');
  assert.ok(start >= 0, 'README has no "## Format dumps" section');
  const end = text.indexOf('\n## ', start + 1);
  return text.slice(start, end < 0 ? undefined : end);
}

function rows(union: { options: readonly z.ZodObject[] }): Array<{ kind: string; fields: string[] }> {
  return union.options.map((o) => {
    const shape = o.shape as Record<string, unknown>;
    const kind = (shape.kind as { value: string }).value;
    return { kind, fields: Object.keys(shape).filter((k) => k !== 'kind') };
  });
}

describe('README documents the dump JSON', () => {
  const section = formatDumpsSection();
  const tableRow = (kind: string) => section.split('\n').find((l) => l.startsWith(`| \`${kind}\` |`));

  for (const [what, union] of [['section', sectionSchema], ['item body', itemBodySchema]] as const) {
    for (const { kind, fields } of rows(union as unknown as { options: readonly z.ZodObject[] })) {
      it(`${what} kind ${kind} has a row naming all its fields`, () => {
        const row = tableRow(kind);
        assert.ok(row, `no README row for ${what} kind \`${kind}\``);
        for (const f of fields) assert.ok(row.includes(`\`${f}\``) || row.includes(`\`${f}[]\``), `README row for \`${kind}\` does not name \`${f}\``);
      });
    }
  }
});
