// The click shard's SQL (src/clicks.rs), run by SQLite itself (Python's sqlite3 module): a
// shard written before visits had a region and an out-of-stock flag is migrated once, its rows
// kept with the defaults, and batches of both shapes (rows of nine fields without swaps, rows
// of eleven with a swaps part) are stored and counted. The statements are read from the Rust
// source, so what runs here is what the Durable Object runs.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT } from '../scripts/lib.mjs';

const SOURCE = readFileSync(join(ROOT, 'src', 'clicks.rs'), 'utf8');
/** A `const NAME: &str = "…";` of src/clicks.rs. */
function sqlConst(name) {
  const m = SOURCE.match(new RegExp(`const ${name}: &str =\\s*"([^"]*)";`));
  assert.ok(m, `src/clicks.rs has no ${name}`);
  return m[1];
}

/** The `hourly` table as shards created it before regions (and a row in it). */
const OLD_SHARD = `
CREATE TABLE hourly (
  hour INTEGER NOT NULL, country TEXT NOT NULL, device TEXT NOT NULL, os TEXT NOT NULL,
  browser TEXT NOT NULL, referrer TEXT NOT NULL, qr TEXT NOT NULL, is_bot INTEGER NOT NULL,
  clicks INTEGER NOT NULL,
  PRIMARY KEY (hour, country, device, os, browser, referrer, qr, is_bot)) WITHOUT ROWID;
INSERT INTO hourly VALUES (3600000, 'US', 'mobile', 'ios', 'safari', '', '', 0, 5);
`;

/** Runs `steps` ([sql, params] or [sql] for a script) in one SQLite database; the last one's rows. */
function sqlite(steps) {
  const py = `
import json, sqlite3, sys
steps = json.load(sys.stdin)
db = sqlite3.connect(':memory:')
rows = []
for sql, params in steps:
    if params is None:
        db.executescript(sql)
    else:
        rows = db.execute(sql, params).fetchall()
print(json.dumps(rows))
`;
  const r = spawnSync('python3', ['-c', py], { input: JSON.stringify(steps.map(([s, p]) => [s, p ?? null])), encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  return JSON.parse(r.stdout);
}

const HOUR = 3_600_000;
const OLD_BATCH = JSON.stringify(['bat_x', [[HOUR, 'US', 'mobile', 'ios', 'safari', '', '', 0, 2]], []]);
const NEW_BATCH = JSON.stringify(['bat_y',
  [[HOUR, 'US', 'mobile', 'ios', 'safari', '', '', 0, 3], [HOUR, 'US', 'mobile', 'ios', 'safari', '', '', 0, 4, 'TX', 1]],
  [],
  [[HOUR, 'TX', '123', '987', 4]]]);

describe('the click shard schema', () => {
  it('migrates a shard written before regions, keeping its rows, and reads batches of both shapes', () => {
    const schema = sqlConst('SCHEMA');
    const isOld = "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = 'hourly' AND sql NOT LIKE '%region%'";
    const rows = sqlite([
      [OLD_SHARD],
      [schema],
      [isOld, []],
    ]);
    assert.deepEqual(rows, [[1]], 'the schema leaves an old hourly table alone: the migration is needed');
    const after = sqlite([
      [OLD_SHARD],
      [schema],
      [sqlConst('MIGRATE_HOURLY_REGION')],
      [sqlConst('ADD_COUNTS'), [OLD_BATCH]],
      [sqlConst('ADD_SWAPS'), [OLD_BATCH]],
      [sqlConst('ADD_COUNTS'), [NEW_BATCH]],
      [sqlConst('ADD_SWAPS'), [NEW_BATCH]],
      ['SELECT hour, region, oos, clicks FROM hourly ORDER BY region, oos', []],
    ]);
    // The old row (5) and both batches' rows without a region (2 + 3) are one row; the new one apart.
    assert.deepEqual(after, [[HOUR, '', 0, 10], [HOUR, 'TX', 1, 4]]);
    const swaps = sqlite([
      [schema],
      [sqlConst('ADD_SWAPS'), [NEW_BATCH]],
      [sqlConst('ADD_SWAPS'), [NEW_BATCH.replace('bat_y', 'bat_z')]],
      ['SELECT hour, region, original, replacement, n FROM swaps', []],
    ]);
    assert.deepEqual(swaps, [[HOUR, 'TX', '123', '987', 8]]);
    const fresh = sqlite([[schema], [isOld, []]]);
    assert.deepEqual(fresh, [[0]], 'a new shard needs no migration');
  });
});
