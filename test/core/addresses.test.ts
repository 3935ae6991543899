// The spelling limits count an address by: one per mailbox, one per phone number.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { normalizedAddress, normalizedEmail, normalizedPhone } from '../../src/core/addresses.js';

describe('normalised addresses', () => {
  it('an e-mail address is trimmed and lower-cased', () => {
    assert.equal(normalizedEmail('  Will.Albin@Example.COM\t'), 'will.albin@example.com');
  });

  it('a phone number loses its separators and writes 00 as +', () => {
    for (const spelling of ['+14155550123', '+1 415 555 0123', '+1 (415) 555-0123', '+1.415.555.0123', 'tel:+1-415-555-0123', '0014155550123', ' 001 415/555 0123 ']) {
      assert.equal(normalizedPhone(spelling), '+14155550123', spelling);
    }
  });

  it('a number without a country code keeps its digits, with no country guessed', () => {
    assert.equal(normalizedPhone('(415) 555-0123'), '4155550123');
    assert.equal(normalizedPhone('0415 555 0123'), '04155550123');
  });

  it('the channel decides which rule applies', () => {
    assert.equal(normalizedAddress('email', 'A@B.C'), 'a@b.c');
    assert.equal(normalizedAddress('sms', '+44 20 7946 0000'), '+442079460000');
    assert.equal(normalizedAddress('voice', '0044 20 7946 0000'), '+442079460000');
  });
});
