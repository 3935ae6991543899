// Defends identity import against bad data reaching the store unnoticed: every bad row is reported on the line it starts on, addresses that delivery would fail on (or send to the wrong place) are refused, duplicates and coerced numbers never slip through.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  MAX_IMPORT_ROWS,
  detectFormat,
  parseIdentityImport,
  validateIdentityInput,
  type ImportRowError,
} from '../../src/core/identity-import.js';

/** Lines of the errors, for assertions that care where, not how it is worded. */
const linesOf = (errors: readonly ImportRowError[]): number[] => errors.map((e) => e.line);

function onlyError(errors: readonly ImportRowError[], line: number, pattern: RegExp): void {
  assert.equal(errors.length, 1, JSON.stringify(errors));
  assert.equal(errors[0]?.line, line);
  assert.match(errors[0]?.message ?? '', pattern);
}

describe('detectFormat', () => {
  it('goes by extension first, case-insensitively', () => {
    assert.equal(detectFormat('people.JSON', 'alias\nx'), 'json');
    assert.equal(detectFormat('people.csv', '[]'), 'csv');
  });

  it('otherwise by the first visible character', () => {
    assert.equal(detectFormat('upload', '\uFEFF \n [{"alias":"a"}]'), 'json');
    assert.equal(detectFormat('upload.txt', 'alias,email\n'), 'csv');
    assert.equal(detectFormat('', ''), 'csv');
  });
});

describe('JSON import', () => {
  it('reads flat and nested attributes, status and its default', () => {
    const text = JSON.stringify([
      { alias: 'alice', email: 'alice@example.com', department: 'R&D' },
      { alias: 'bob', status: 'disabled', attributes: { email: 'bob@example.com', phone: '+1 (415) 555-0123' } },
      { alias: 'carol', costCenter: 'x', attributes: { personalEmail: 'c@home.example' } },
    ]);
    const { rows, errors } = parseIdentityImport(text, 'json');
    assert.deepEqual(errors, []);
    assert.deepEqual(rows, [
      { alias: 'alice', status: 'active', attributes: { email: 'alice@example.com', department: 'R&D' } },
      { alias: 'bob', status: 'disabled', attributes: { email: 'bob@example.com', phone: '+14155550123' } },
      { alias: 'carol', status: 'active', attributes: { costCenter: 'x', personalEmail: 'c@home.example' } },
    ]);
  });

  it('reports each bad element on the line where it starts, across multi-line elements', () => {
    const text = [
      '[', // 1
      '  {', // 2
      '    "alias": "ok-1",', // 3
      '    "email": "ok1@example.com"', // 4
      '  },', // 5
      '  {', // 6  bad: no alias
      '    "email": "x@example.com"', // 7
      '  },', // 8
      '  {"alias": "ok-2"}, {"alias": "bad-phone",', // 9  second element bad, starts here
      '     "phone": "12345"},', // 10
      '  {', // 11
      '    "alias": "bad-email",', // 12
      '    "attributes": {', // 13
      '      "email": "not an email"', // 14
      '    }', // 15
      '  }', // 16
      ']', // 17
    ].join('\n');
    const { rows, errors } = parseIdentityImport(text, 'json');
    assert.deepEqual(linesOf(errors), [6, 9, 11]);
    assert.match(errors[0]?.message ?? '', /alias/);
    assert.match(errors[1]?.message ?? '', /"phone".*E\.164/);
    assert.match(errors[2]?.message ?? '', /"email".*not an email/);
    assert.deepEqual(
      rows.map((r) => r.alias),
      ['ok-1', 'ok-2'],
    );
  });

  it('counts CRLF line ends once and accepts a leading BOM', () => {
    const text = '\uFEFF[\r\n{"alias":"a"},\r\n{"alias":""}\r\n]\r\n';
    const { rows, errors } = parseIdentityImport(text, 'json');
    onlyError(errors, 3, /alias/);
    assert.deepEqual(rows, [{ alias: 'a', status: 'active', attributes: {} }]);
  });

  it('rejects numbers rather than converting them, and says so', () => {
    const { rows, errors } = parseIdentityImport('[{"alias":"a","phone":14155550123}]', 'json');
    assert.deepEqual(rows, []);
    onlyError(errors, 1, /"phone" must be a string, found a number; values are not converted/);
    const alias = parseIdentityImport('[{"alias":12345}]', 'json');
    onlyError(alias.errors, 1, /"alias" must be a string, found a number; numbers are not converted/);
  });

  it('rejects other non-string values: null, booleans, arrays, objects', () => {
    const text = '[{"alias":"a","x":null,"y":true,"z":["1"],"w":{"v":"1"}}]';
    const { errors } = parseIdentityImport(text, 'json');
    assert.deepEqual(linesOf(errors), [1, 1, 1, 1]);
    assert.match(errors[0]?.message ?? '', /"x" must be a string, found null; leave the attribute out/);
    assert.match(errors[1]?.message ?? '', /"y".*found true/);
    assert.match(errors[2]?.message ?? '', /"z".*found an array/);
    assert.match(errors[3]?.message ?? '', /"w".*found an object/);
  });

  it('refuses an attribute given both flat and nested', () => {
    const { rows, errors } = parseIdentityImport('[{"alias":"a","email":"a@x.io","attributes":{"email":"b@x.io"}}]', 'json');
    assert.deepEqual(rows, []);
    onlyError(errors, 1, /"email" is given both at the top level and inside "attributes"/);
  });

  it('refuses reserved names inside "attributes" and a non-object "attributes"', () => {
    const nested = parseIdentityImport('[{"alias":"a","attributes":{"status":"disabled"}}]', 'json');
    onlyError(nested.errors, 1, /"status" cannot be an attribute name/);
    const notObject = parseIdentityImport('[{"alias":"a","attributes":["x"]}]', 'json');
    onlyError(notObject.errors, 1, /"attributes" must be an object/);
  });

  it('refuses a key repeated within one object, which JSON.parse would silently resolve', () => {
    const { rows, errors } = parseIdentityImport('[\n{"alias":"a","email":"a@x.io","email":"evil@x.io"}\n]', 'json');
    assert.deepEqual(rows, []);
    onlyError(errors, 2, /Key "email" appears more than once/);
  });

  it('reports elements that are not objects', () => {
    const { errors } = parseIdentityImport('[\n"alice",\n42,\n{"alias":"b"}\n]', 'json');
    assert.deepEqual(linesOf(errors), [2, 3]);
    assert.match(errors[0]?.message ?? '', /Expected an object with an "alias", found a string/);
  });

  it('decodes escapes, and takes "__proto__" as an ordinary (invalid) key, not a prototype', () => {
    const ok = parseIdentityImport('[{"alias":"\\u00e9mile \\"E\\"","note":"a\\/b"}]', 'json');
    assert.deepEqual(ok.errors, []);
    assert.deepEqual(ok.rows, [{ alias: 'émile "E"', status: 'active', attributes: { note: 'a/b' } }]);
    const proto = parseIdentityImport('[{"alias":"a","__proto__":{"status":"disabled"}}]', 'json');
    onlyError(proto.errors, 1, /"__proto__" is not a valid attribute name/);
    assert.equal(({} as Record<string, unknown>)['status'], undefined);
  });

  it('accepts an empty array', () => {
    assert.deepEqual(parseIdentityImport(' [ ] ', 'json'), { rows: [], errors: [] });
  });

  describe('malformed JSON gives one error on the line of the fault and no rows', () => {
    const cases: ReadonlyArray<readonly [string, string, number, RegExp]> = [
      ['missing comma between elements', '[\n{"alias":"a"}\n{"alias":"b"}\n]', 3, /column 1: Expected "," or "]"/],
      ['trailing comma', '[\n{"alias":"a"},\n]', 3, /trailing comma/],
      ['single-quoted string', "[\n  {'alias':'a'}]", 2, /column 4: Expected a property name in double quotes/],
      ['unclosed string running into a line break', '[\n{"alias":"a\n"}]', 2, /line break inside a string/],
      ['unclosed array', '[\n{"alias":"a"}\n', 3, /end of input: the array is not closed/],
      ['content after the array', '[]\n\n[]', 3, /after the closing "]"/],
      ['bad escape', '[{"alias":"a\\x"}]', 1, /Invalid escape/],
      ['bare word', '[\n\n  nope]', 3, /column 3: Unexpected character "n"/],
      ['number with a leading zero', '[{"alias":"a","n":01}]', 1, /Expected "," or "}"/],
    ];
    for (const [name, text, line, pattern] of cases) {
      it(name, () => {
        const { rows, errors } = parseIdentityImport(text, 'json');
        assert.deepEqual(rows, []);
        onlyError(errors, line, pattern);
        assert.match(errors[0]?.message ?? '', /^Malformed JSON at column \d+: /);
      });
    }

    it('even when earlier elements had row errors', () => {
      const { errors } = parseIdentityImport('[{"email":"x"},\n{"alias":"a"}\n{', 'json');
      onlyError(errors, 3, /Malformed JSON/);
    });

    it('refuses nesting deep enough to threaten the stack', () => {
      const { errors } = parseIdentityImport(`[${'['.repeat(100_000)}`, 'json');
      onlyError(errors, 1, /nested deeper than 64/);
    });
  });

  it('says what is wrong with an empty file or a top level that is not an array', () => {
    onlyError(parseIdentityImport(' \n ', 'json').errors, 1, /empty/);
    onlyError(parseIdentityImport('\n{"alias":"a"}', 'json').errors, 2, /JSON array/);
  });
});

describe('CSV import', () => {
  it('reads a header, attributes, status, and empty cells as absent', () => {
    const text = 'alias,email,phone,status,title\nalice,alice@example.com,,,Engineer\nbob,,+44 20 7946 0958,disabled,\n';
    const { rows, errors } = parseIdentityImport(text, 'csv');
    assert.deepEqual(errors, []);
    assert.deepEqual(rows, [
      { alias: 'alice', status: 'active', attributes: { email: 'alice@example.com', title: 'Engineer' } },
      { alias: 'bob', status: 'disabled', attributes: { phone: '+442079460958' } },
    ]);
  });

  it('handles quoted fields with commas, doubled quotes and line breaks (RFC 4180)', () => {
    const text = 'alias,title\n"smith, j","The ""Boss"""\n"x","a\nb"\n';
    const { rows, errors } = parseIdentityImport(text, 'csv');
    assert.deepEqual(rows, [{ alias: 'smith, j', status: 'active', attributes: { title: 'The "Boss"' } }]);
    // A line break is a control character, so a value may not hold one; the record starts on line 3.
    onlyError(errors, 3, /"title" contains a control character/);
  });

  it('reports a bad row on its physical line when a quoted multi-line field comes before it', () => {
    const text = [
      'alias,email,notes', // 1
      'ann,ann@example.com,"first', // 2  record spans lines 2-4
      'second', // 3
      'third"', // 4
      'ben,ben@example.com,fine', // 5
      'cat,not-an-email,', // 6  bad
      '"dan","dan@example.com","quoted ""line""', // 7  record spans lines 7-8
      'continued"', // 8
      ',eve@example.com,', // 9  bad: no alias
    ].join('\n');
    const { rows, errors } = parseIdentityImport(text, 'csv');
    assert.deepEqual(linesOf(errors), [2, 6, 7, 9]);
    assert.match(errors[0]?.message ?? '', /"notes" contains a control character/);
    assert.match(errors[1]?.message ?? '', /"email" is not an email address/);
    assert.match(errors[3]?.message ?? '', /alias/);
    assert.deepEqual(
      rows.map((r) => r.alias),
      ['ben'],
    );
  });

  it('counts lines the same with CRLF, including CRLF inside quotes, and strips a BOM', () => {
    const text = '\uFEFFalias,note\r\na,"x\r\ny"\r\nb,ok\r\n,missing\r\n';
    const { rows, errors } = parseIdentityImport(text, 'csv');
    assert.deepEqual(linesOf(errors), [2, 5]);
    assert.deepEqual(rows, [{ alias: 'b', status: 'active', attributes: { note: 'ok' } }]);
  });

  it('reads a BOM-prefixed header so "alias" is still found', () => {
    const { rows, errors } = parseIdentityImport('\uFEFFalias\r\nalice', 'csv');
    assert.deepEqual(errors, []);
    assert.deepEqual(rows, [{ alias: 'alice', status: 'active', attributes: {} }]);
  });

  it('refuses a row whose field count differs from the header, and keeps going', () => {
    const text = 'alias,email\na,a@x.io,extra\nb\nc,c@x.io\n';
    const { rows, errors } = parseIdentityImport(text, 'csv');
    assert.deepEqual(linesOf(errors), [2, 3]);
    assert.match(errors[0]?.message ?? '', /3 fields but the header has 2/);
    assert.match(errors[1]?.message ?? '', /1 fields but the header has 2/);
    assert.deepEqual(
      rows.map((r) => r.alias),
      ['c'],
    );
  });

  it('skips blank lines and rows of empty cells, still counting their lines', () => {
    const text = 'alias,email\n\na,a@x.io\n,\n\nb,bad\n';
    const { rows, errors } = parseIdentityImport(text, 'csv');
    onlyError(errors, 6, /not an email/);
    assert.deepEqual(
      rows.map((r) => r.alias),
      ['a'],
    );
  });

  it('reports broken quoting on the row it happens in', () => {
    const text = 'alias,title\na,"closed" then text\nb,un"quoted\nc,ok\nd,"never closed\ne,x\n';
    const { rows, errors } = parseIdentityImport(text, 'csv');
    assert.deepEqual(linesOf(errors), [2, 3, 5]);
    assert.match(errors[0]?.message ?? '', /Text follows the closing quote/);
    assert.match(errors[1]?.message ?? '', /double quote inside an unquoted field/);
    assert.match(errors[2]?.message ?? '', /opened on line 5 is never closed/);
    assert.deepEqual(
      rows.map((r) => r.alias),
      ['c'],
    );
  });

  describe('a bad header stops the file', () => {
    const cases: ReadonlyArray<readonly [string, string, RegExp]> = [
      ['no alias column', 'email,phone\nx@y.z,+14155550123\n', /no "alias" column/],
      ['alias in the wrong case', 'Alias,email\na,a@x.io\n', /case-sensitive; found "Alias"/],
      ['a repeated column', 'alias,email,email\n', /"email" appears more than once/],
      ['an unnamed column', 'alias,,email\n', /Column 2 of the header has no name/],
      ['an invalid attribute name', 'alias,e mail\n', /"e mail" is not a valid attribute name/],
      ['a reserved name', 'alias,attributes\n', /"attributes" cannot be a column name/],
      ['an empty file', '\uFEFF\r\n\r\n', /empty/],
    ];
    for (const [name, text, pattern] of cases) {
      it(name, () => {
        const { rows, errors } = parseIdentityImport(text, 'csv');
        assert.deepEqual(rows, []);
        onlyError(errors, 1, pattern);
      });
    }

    it('on the line the header is on, after leading blank lines', () => {
      onlyError(parseIdentityImport('\n\nname\nx\n', 'csv').errors, 3, /no "alias" column/);
    });
  });
});

describe('row checks, in either format', () => {
  it('normalises phone numbers to E.164 and refuses what is not one', () => {
    const csv = [
      'alias,phone,workPhone',
      'a,+1 (415) 555-0123,+44.20.7946.0958', // 2 ok
      'b,4155550123,', // 3 no plus
      'c,+1234567,', // 4 seven digits: too short
      'd,+1234567890123456,', // 5 sixteen digits: too long
      'e,+0123456789,', // 6 country codes never start with 0
      'f,,+1 415 555 0123 ext 7', // 7 letters
      'g,+12345678,+123456789012345', // 8 the bounds, 8 and 15 digits
    ].join('\n');
    const { rows, errors } = parseIdentityImport(csv, 'csv');
    assert.deepEqual(linesOf(errors), [3, 4, 5, 6, 7]);
    assert.match(errors[4]?.message ?? '', /"workPhone" is not an E.164/);
    assert.deepEqual(rows, [
      { alias: 'a', status: 'active', attributes: { phone: '+14155550123', workPhone: '+442079460958' } },
      { alias: 'g', status: 'active', attributes: { phone: '+12345678', workPhone: '+123456789012345' } },
    ]);
  });

  it('checks email and personalEmail, and only those', () => {
    const text = [
      'alias,email,personalEmail,other',
      'a,a@example.com,me@home,not an email at all', // ok: "other" is free text
      'b,a@@example.com,,', // two @
      'c,,@home,', // empty local part
      'd,a b@example.com,,', // space
      'e,a@,,', // empty domain
      'f,,plain,', // no @
    ].join('\n');
    const { rows, errors } = parseIdentityImport(text, 'csv');
    assert.deepEqual(linesOf(errors), [3, 4, 5, 6, 7]);
    assert.match(errors[1]?.message ?? '', /"personalEmail" is not an email address/);
    assert.deepEqual(
      rows.map((r) => r.alias),
      ['a'],
    );
  });

  it('trims surrounding spaces from aliases and values', () => {
    const { rows } = parseIdentityImport('alias,email\n  alice  , alice@example.com \n', 'csv');
    assert.deepEqual(rows, [{ alias: 'alice', status: 'active', attributes: { email: 'alice@example.com' } }]);
  });

  it('reports a duplicate alias on the later line, naming the earlier one, every time', () => {
    const csv = 'alias,email\nalice,a@x.io\nbob,b@x.io\nalice,other@x.io\n alice ,third@x.io\nAlice,case@x.io\n';
    const { rows, errors } = parseIdentityImport(csv, 'csv');
    assert.deepEqual(linesOf(errors), [4, 5]);
    assert.match(errors[0]?.message ?? '', /alias "alice" already appears on line 2/);
    assert.match(errors[1]?.message ?? '', /already appears on line 2/);
    // The store matches aliases exactly, so a different case is a different identity.
    assert.deepEqual(
      rows.map((r) => r.alias),
      ['alice', 'bob', 'Alice'],
    );

    const json = '[\n{"alias":"x","email":"bad"},\n{"alias":"x"}\n]';
    const dup = parseIdentityImport(json, 'json');
    assert.deepEqual(linesOf(dup.errors), [2, 3]);
    assert.match(dup.errors[1]?.message ?? '', /"x" already appears on line 2/);
  });

  it('limits alias and value lengths, in characters', () => {
    const longAlias = 'a'.repeat(257);
    const emojiAlias = '😀'.repeat(256); // 512 UTF-16 units, 256 characters
    const text = JSON.stringify([{ alias: 'a'.repeat(256) }, { alias: longAlias }, { alias: emojiAlias }, { alias: 'v', note: 'x'.repeat(1025) }, { alias: 'w', note: 'x'.repeat(1024) }]);
    const { rows, errors } = parseIdentityImport(text, 'json');
    assert.equal(errors.length, 2);
    assert.match(errors[0]?.message ?? '', /"alias" is longer than 256/);
    assert.match(errors[1]?.message ?? '', /"note" is longer than 1024/);
    assert.equal(rows.length, 3);
  });

  it('refuses control characters, line separators and lone surrogates', () => {
    for (const bad of ['a\u0000b', 'a\tb', 'a\u007fb', 'a\u0085b', 'a\u2028b', 'a\uD800b']) {
      const alias = validateIdentityInput({ alias: bad }, 1);
      assert.ok(Array.isArray(alias), JSON.stringify(bad));
      assert.match(alias[0]?.message ?? '', /control character/);
      const value = validateIdentityInput({ alias: 'a', title: bad }, 1);
      assert.ok(Array.isArray(value), JSON.stringify(bad));
    }
    assert.ok(!Array.isArray(validateIdentityInput({ alias: 'Zoë 😀 李' }, 1)));
  });

  it('checks attribute names', () => {
    const names = { '1st': 'x', 'has space': 'x', _under: 'x', ['a'.repeat(65)]: 'x', 'ok_name.v-2': 'x', ['b'.repeat(64)]: 'x' };
    const result = validateIdentityInput({ alias: 'a', ...names }, 7);
    assert.ok(Array.isArray(result));
    assert.deepEqual(linesOf(result), [7, 7, 7, 7]);
    assert.deepEqual(
      result.map((e) => e.message.split(' ')[0]),
      ['"1st"', '"has', '"_under"', `"${'a'.repeat(64)}…"`],
    );
  });

  it('accepts only "active" or "disabled" as status', () => {
    const { errors } = parseIdentityImport('alias,status\na,Active\nb,deleted\nc, disabled \n', 'csv');
    assert.deepEqual(linesOf(errors), [2, 3]);
    assert.match(errors[0]?.message ?? '', /"status" must be "active" or "disabled", found "Active"/);
  });

  it(`stops at ${MAX_IMPORT_ROWS} rows, on the line of the first row too many`, () => {
    const aliases = Array.from({ length: MAX_IMPORT_ROWS + 5 }, (_, k) => `u${k}`);
    const { rows, errors } = parseIdentityImport(`alias\n${aliases.join('\n')}\n`, 'csv');
    onlyError(errors, MAX_IMPORT_ROWS + 2, /at most 100000/);
    assert.equal(rows.length, MAX_IMPORT_ROWS);
    const exactly = parseIdentityImport(`alias\n${aliases.slice(0, MAX_IMPORT_ROWS).join('\n')}`, 'csv');
    assert.deepEqual(exactly.errors, []);
  });
});

describe('validateIdentityInput (the single-identity admin API)', () => {
  it('returns the normalised input', () => {
    assert.deepEqual(validateIdentityInput({ alias: ' a ', status: 'disabled', attributes: { workPhone: '+49 30 1234567' } }, 1), {
      alias: 'a',
      status: 'disabled',
      attributes: { workPhone: '+49301234567' },
    });
  });

  it('returns every problem, each on the given line', () => {
    const result = validateIdentityInput({ email: 'nope', phone: 123, status: 'gone' }, 1);
    assert.ok(Array.isArray(result));
    assert.deepEqual(linesOf(result), [1, 1, 1, 1]);
    assert.match(result.map((e) => e.message).join('\n'), /alias.*\n.*status.*\n.*email.*\n.*phone.*number/);
  });

  it('refuses what is not an object', () => {
    for (const value of [null, undefined, 'alice', 3, [], [{ alias: 'a' }]]) {
      const result = validateIdentityInput(value, 1);
      assert.ok(Array.isArray(result) && result.length === 1, JSON.stringify(value));
    }
  });

  it('reads only own keys, so inherited names are not taken for attributes or the alias', () => {
    const inherited = Object.create({ alias: 'from-prototype', email: 'x@y.z' }) as object;
    const result = validateIdentityInput(inherited, 1);
    assert.ok(Array.isArray(result));
    assert.match(result[0]?.message ?? '', /alias/);
    // Names that exist on Object.prototype are ordinary attribute names here.
    assert.deepEqual(validateIdentityInput({ alias: 'a', constructor: 'c', toString: 't' }, 1), {
      alias: 'a',
      status: 'active',
      attributes: { constructor: 'c', toString: 't' },
    });
  });
});
