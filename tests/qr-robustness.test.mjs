// Decode robustness of the PNG layout: the current one (the code fills the image) against the
// previous one (whole pixels per module, leftover as border), every EC level at 128, 256 and
// 512 px, under a fixed, seeded set of degradations, decoded with zbarimg. See
// bench/qr-robustness.mjs; `npm run bench:qr` writes the same figures into bench/RESULTS.md.
// No worker is started: both layouts come from the crate's own renderer (examples/qr_layouts.rs).
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ALIGNED_KINDS, EC_LEVELS, KINDS, SEEDS, SIZES, markdown, measure, tally } from '../bench/qr-robustness.mjs';

describe('QR decode robustness, current layout against the previous one', () => {
  it('decodes at least as many degraded images as the previous layout at every size', (t) => {
    const result = measure();
    const totals = tally(result);
    t.diagnostic(markdown(totals, { date: 'this run', commit: 'this tree', zbarVersion: '' }));

    // Every image was made and decoded: the undegraded ones all decode, to their own URL.
    assert.equal(result.cases.length, EC_LEVELS.length * SIZES.length * (1 + (KINDS.length + ALIGNED_KINDS.length) * SEEDS));
    assert.deepEqual(totals.control, { total: 12, fixed: 12, fill: 12 });
    assert.deepEqual(totals.misread, { fixed: 0, fill: 0 });

    for (const { size, total, fixed, fill } of totals.bySize) {
      assert.equal(total, EC_LEVELS.length * KINDS.length * SEEDS);
      assert.ok(fill >= fixed, `${size} px: current layout decodes ${fill}/${total}, previous ${fixed}/${total}`);
    }
  });
});
