// The page cache's reclaim model: the kernel's active/inactive lists (second access promotes, reclaim
// from the inactive tail, the inactive list kept at its share), plain LRU, refaults, dirty pages and
// duplicate accounting. These are properties of the cache alone, so they are tested on bare pages.

import assert from 'node:assert/strict';
import { PageCache, LruPageCache } from '../lib/cache/page-cache.js';
import { CachedPage } from '../lib/cache/cached-page.js';
import { ShadowEntries } from '../lib/cache/shadow.js';

const page = (n: number) => Buffer.alloc(4096, n);
const keys = (c: PageCache) => [...c.entries()].map((p) => p.key).sort();

describe('page cache', () => {
  it('a new page is inactive; a second access promotes it; reclaim takes the oldest inactive page', () => {
    const c = new PageCache({ maxPages: 3 });
    c.insert('a', page(1), { accessed: true });
    c.insert('b', page(2), { accessed: true });
    assert.equal(c.inactiveCount, 2);
    assert.ok(c.lookup('a'));
    assert.equal(c.activeCount, 1, 'second access (insert counted as the first) promotes');
    c.insert('c', page(3), { accessed: true });
    c.insert('d', page(4), { accessed: true });
    // b was the oldest inactive page; a is active and survives.
    assert.deepEqual(keys(c), ['a', 'c', 'd']);
    assert.equal(c.counters.evictions, 1);
    assert.equal(c.counters.activations, 1);
  });

  it('readahead pages need two accesses to be promoted', () => {
    const c = new PageCache({ maxPages: 10 });
    c.insert('r', page(1), { accessed: false });
    c.lookup('r');
    assert.equal(c.activeCount, 0);
    c.lookup('r');
    assert.equal(c.activeCount, 1);
  });

  it('keeps the inactive list from shrinking below its share: active pages are deactivated first', () => {
    const c = new PageCache({ maxPages: 4 });
    for (const k of ['a', 'b', 'c', 'd']) {
      c.insert(k, page(0), { accessed: true });
      c.lookup(k);
    }
    assert.equal(c.activeCount, 4);
    c.insert('e', page(0), { accessed: true });
    // Below 1 GiB the target is inactive >= active: two pages were moved to the inactive list, and the
    // oldest of them (a, the first promoted) was reclaimed.
    assert.deepEqual(keys(c), ['b', 'c', 'd', 'e']);
    assert.deepEqual([c.inactiveCount, c.activeCount], [2, 2]);
  });

  it('a scan of pages used once does not push out the pages used twice (unlike LRU)', () => {
    const run = (c: PageCache) => {
      for (const k of ['hot1', 'hot2']) {
        c.insert(k, page(0), { accessed: true });
        c.lookup(k);
      }
      for (let i = 0; i < 20; i++) c.insert(`scan${i}`, page(0), { accessed: true });
      return ['hot1', 'hot2'].filter((k) => c.has(k)).length;
    };
    assert.equal(run(new PageCache({ maxPages: 8 })), 2);
    assert.equal(run(new PageCache({ maxPages: 8, reclaim: 'lru' })), 0);
  });

  it('counts a refault when an evicted page comes back, and activates it when it was in the working set', () => {
    const c = new PageCache({ maxPages: 4 });
    c.insert('x', page(0), { accessed: true });
    c.lookup('x');
    c.insert('y', page(0), { accessed: true });
    c.lookup('y');
    c.insert('a', page(0), { accessed: true });
    c.insert('b', page(0), { accessed: true });
    c.insert('c', page(0), { accessed: true });
    assert.equal(c.counters.evictions, 1);
    // x and y are active; the oldest inactive page, a, went.
    assert.ok(!c.has('a'));
    c.insert('a', page(0), { accessed: true });
    assert.equal(c.counters.refaults, 1);
    // Its refault distance (one eviction since) is within the active list's size: it comes back active.
    assert.equal(c.peek('a')!.list, c.peek('x')!.list);
    // Invalidated pages are not refaults when they come back.
    c.invalidate(c.peek('c')!);
    c.insert('c', page(0), { accessed: true });
    assert.equal(c.counters.refaults, 1);
  });

  it('never reclaims dirty pages; asks its owner to write them back when nothing clean is left', () => {
    const c = new PageCache({ maxPages: 2 });
    let flushes = 0;
    c.flush = () => {
      flushes++;
      for (const p of c.entries()) c.setDirty(p, false);
    };
    c.insert('d1', page(1), { dirty: true });
    c.insert('d2', page(2), { dirty: true });
    assert.equal(c.counters.dirty_pages, 2);
    c.insert('n', page(3), { accessed: true });
    assert.equal(flushes, 1);
    assert.equal(c.size, 2);
    assert.equal(c.counters.dirty_pages, 0);
    const noFlush = new PageCache({ maxPages: 1 });
    noFlush.insert('d', page(0), { dirty: true });
    assert.throws(() => noFlush.insert('e', page(0)), /all dirty/);
  });

  it('counts resident pages holding the same identity as duplicates, and tracks them through rekey and removal', () => {
    const c = new PageCache();
    c.insert('I1:1:0', page(0), { identity: 'L4096' });
    c.insert('I1:2:0', page(0), { identity: 'L4096' });
    c.insert('I1:3:0', page(0), { identity: 'L4096' });
    assert.equal(c.counters.duplicate_pages, 2);
    c.rekey(c.peek('I1:3:0')!, 'L8192', { identity: 'L8192', perInode: false, owner: '1:3', index: 0 });
    assert.equal(c.counters.duplicate_pages, 1);
    c.invalidate(c.peek('I1:1:0')!);
    assert.equal(c.counters.duplicate_pages, 0);
    assert.equal(c.counters.duplicate_pages_peak, 2);
  });

  it('remembers which inodes used a page, finds the pages an inode owns, and drops clean pages on request', () => {
    const c = new PageCache();
    c.insert('L0', page(0), { owner: '5:257' });
    c.lookup('L0', '5:257');
    assert.equal(c.peek('L0')!.shared, false);
    c.lookup('L0', '5:258');
    assert.equal(c.peek('L0')!.shared, true);
    c.insert('I5:257:3', page(0), { owner: '5:257', index: 3, perInode: true });
    c.insert('I5:257:4', page(0), { owner: '5:257', index: 4, perInode: true, dirty: true });
    assert.deepEqual([...c.pagesOf('5:257')!].map((p) => p.key).sort(), ['I5:257:3', 'I5:257:4', 'L0']);
    assert.equal(c.dropClean(), 2);
    assert.deepEqual(keys(c), ['I5:257:4']);
    assert.equal(c.counters.invalidations, 2);
  });

  it('LruPageCache keeps the fs-like API working: get/set/has and a budget', () => {
    const c = new LruPageCache(2);
    c.set('a', page(1));
    c.set('b', page(2));
    assert.equal(c.get('a')![0], 1);
    c.set('c', page(3));
    assert.equal(c.has('b'), false);
    assert.equal(c.has('a'), true);
    assert.equal(c.size, 2);
  });

  it('stays within its budget under a long random workload', () => {
    let state = 12345;
    const rnd = () => (state = (state * 1103515245 + 12345) >>> 0) / 2 ** 32;
    for (const reclaim of ['active-inactive', 'lru'] as const) {
      const c = new PageCache({ maxPages: 50, reclaim });
      c.flush = () => {
        for (const p of c.entries()) if (p.dirty) c.setDirty(p, false);
      };
      for (let i = 0; i < 20000; i++) {
        const k = `k${Math.floor(rnd() * 400)}`;
        if (!c.lookup(k)) c.insert(k, undefined, { accessed: rnd() < 0.5, dirty: rnd() < 0.1, identity: `L${Math.floor(rnd() * 100)}` });
        assert.ok(c.size <= 50);
      }
      assert.equal(c.counters.pages_peak, 50);
      assert.ok(c.counters.refaults > 0);
      assert.equal(c.counters.pages_resident, c.size);
    }
  });

  it('shadow entries stay bounded when refaults keep them below their limit, and still age out oldest first', () => {
    const shadows = new ShadowEntries(1000);
    const evicted = (key: string) => Object.assign(new CachedPage(key, undefined), { owner: 'o', index: 0 });
    // Every page evicted comes back at once: the entries never fill, the queue must not grow.
    for (let i = 0; i < 100_000; i++) {
      shadows.remember(evicted(`p${i}`), i);
      assert.equal(shadows.take(`p${i}`), i);
    }
    assert.equal(shadows.size, 0);
    assert.ok(shadows.queueLength <= 1025, `queue holds ${shadows.queueLength} slots for no entries`);
    // After compactions, the oldest live entry is still the first forgotten.
    for (let i = 0; i < 1000; i++) {
      shadows.remember(evicted(`q${i}`), i);
      if (i % 2) shadows.take(`q${i}`);
    }
    for (let i = 0; i < 600; i++) shadows.remember(evicted(`r${i}`), 1000 + i);
    assert.equal(shadows.size, 1000);
    assert.equal(shadows.take('q0'), undefined, 'the oldest went first');
    assert.equal(shadows.take('q198'), undefined);
    assert.equal(shadows.take('q200'), 200, 'younger entries are kept');
    assert.equal(shadows.take('r599'), 1599);
  });
});
