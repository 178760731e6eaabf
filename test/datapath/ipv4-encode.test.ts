import { test } from 'node:test';
import assert from 'node:assert/strict';
import { bufferToIpv4, ipv4ToBuffer, writeIpv4 } from '../../src/datapath/abi.js';

test('writeIpv4 writes the same bytes as the reference parser', () => {
  for (let i = 0; i < 2000; i++) {
    const addr = [0, 0, 0, 0].map(() => Math.floor(Math.random() * 256)).join('.');
    const b = Buffer.alloc(6);
    writeIpv4(b, 1, addr);
    assert.deepEqual(b.subarray(1, 5), ipv4ToBuffer(addr));
    assert.equal(bufferToIpv4(b, 1), addr);
  }
});

test('writeIpv4 refuses what is not a dotted quad', () => {
  for (const bad of ['', '1.2.3', '1.2.3.4.5', '256.1.1.1', '1..2.3', 'a.b.c.d', '1.2.3.4 ', '1234.1.1.1', '-1.2.3.4']) {
    assert.throws(() => writeIpv4(Buffer.alloc(4), 0, bad), RangeError, bad);
  }
});
