import { test } from 'node:test';
import assert from 'node:assert/strict';
import { consoleText, isPossibleWrite, leadingKeyword, splitStatements } from './console.js';

test('splits at top-level semicolons only', () => {
  assert.deepEqual(splitStatements('select 1; select 2;', 'sqlite'), ['select 1', 'select 2']);
  assert.deepEqual(splitStatements('select \';\' as a; select "x;y"', 'sqlite'), ["select ';' as a", 'select "x;y"']);
  assert.deepEqual(splitStatements("select 'it''s; fine'", 'sqlite'), ["select 'it''s; fine'"]);
  assert.deepEqual(splitStatements('select [a;b] from t', 'sqlite'), ['select [a;b] from t']);
  assert.deepEqual(splitStatements('select 1 -- a; comment\n; select 2 /* ; */', 'sqlite'), ['select 1 -- a; comment', 'select 2 /* ; */']);
  assert.deepEqual(splitStatements(' ; -- only a comment\n ;', 'sqlite'), []);
  assert.deepEqual(splitStatements('do $$ begin perform 1; end $$; select 2', 'postgres'), ['do $$ begin perform 1; end $$', 'select 2']);
  assert.deepEqual(splitStatements("select $tag$a;b$tag$; select E'x\\';y'", 'postgres'), ['select $tag$a;b$tag$', "select E'x\\';y'"]);
  assert.deepEqual(splitStatements('select arr[1]; select 2', 'postgres'), ['select arr[1]', 'select 2']);
  assert.deepEqual(splitStatements("select 'unterminated; select 2", 'sqlite'), ["select 'unterminated; select 2"]);
});

test("PocketBase's loose write check and the leading keyword", () => {
  assert.equal(isPossibleWrite('  insert into t values (1)'), true);
  assert.equal(isPossibleWrite('DROP TABLE t'), true);
  assert.equal(isPossibleWrite('select * from t; delete from t'), false);
  assert.equal(isPossibleWrite('with x as (select 1) insert into t select * from x'), false);
  assert.equal(leadingKeyword('/* c */ -- d\n (SELECT 1)'), 'SELECT');
  assert.equal(leadingKeyword('  commit'), 'COMMIT');
});

test('values print as text or null', () => {
  assert.equal(consoleText(null), null);
  assert.equal(consoleText(12n), '12');
  assert.equal(consoleText(1.5), '1.5');
  assert.equal(consoleText(Buffer.from('hi')), 'hi');
});
