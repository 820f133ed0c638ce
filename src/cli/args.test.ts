import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { parseArgs, parseCommand, UsageError } from './args.js';
import { listenFailure, systemErrorLine } from './startup.js';

const spec = { name: 'serve', flags: { http: 'string', dev: 'boolean' }, maxPositionals: 1 } as const;

describe('CLI arguments (node:util parseArgs, strict)', () => {
  it('reads --name=value, --name value, booleans and -h', () => {
    assert.deepEqual(parseCommand(['--http=1.2.3.4:80', 'x'], spec), { positional: ['x'], flags: { http: '1.2.3.4:80' }, help: false });
    assert.deepEqual(parseCommand(['--http', ':8090', '--dev'], spec).flags, { http: ':8090', dev: true });
    assert.equal(parseCommand(['-h'], spec).help, true);
  });

  it('accepts the old --flag=true|false form for booleans', () => {
    assert.deepEqual(parseCommand(['--dev=true'], spec).flags, { dev: true });
    assert.deepEqual(parseCommand(['--dev=false'], spec).flags, {});
  });

  it('unknown flags, missing values, values for booleans and stray positionals are UsageErrors naming the problem', () => {
    const cases: Array<[string[], RegExp]> = [
      [['--nope'], /^Unknown flag "--nope"\. Run "plinth serve --help"/],
      [['-x'], /^Unknown flag "-x"/],
      [['--http'], /^Flag "--http" needs a value/],
      [['--http', '--dev'], /^Flag "--http" needs a value/],
      [['--dev=yes'], /^Flag "--dev" takes no value/],
      [['a', 'b'], /^Unexpected argument "b" for "plinth serve"/],
      [['a', 'b', 'c'], /^Unexpected arguments "b" "c"/],
    ];
    for (const [argv, message] of cases) {
      assert.throws(
        () => parseCommand(argv, spec),
        (e: Error) => e instanceof UsageError && message.test(e.message),
        argv.join(' '),
      );
    }
  });

  it('everything after -- is positional', () => {
    assert.deepEqual(parseCommand(['--', '--dev'], spec).positional, ['--dev']);
  });

  it('the earlier parseArgs(argv, known) interface still works', () => {
    assert.deepEqual(parseArgs(['a', 'b', '--x=1', '--help'], { x: 'string', help: 'boolean', h: 'boolean' }), {
      positional: ['a', 'b'],
      flags: { x: '1', help: true, h: true },
    });
    assert.throws(() => parseArgs(['--y'], { x: 'string' }), UsageError);
  });
});

describe('start-up failure lines', () => {
  const err = (code: string, syscall = 'listen') => Object.assign(new Error(`${code}: something`), { code, syscall });
  it('names the address and what to do', () => {
    assert.match(
      listenFailure(err('EADDRINUSE'), '127.0.0.1', 8090),
      /^Cannot listen on 127\.0\.0\.1:8090: the port is already in use.*--http=127\.0\.0\.1:8091/,
    );
    assert.match(listenFailure(err('EACCES'), '0.0.0.0', 80), /^Cannot listen on 0\.0\.0\.0:80: permission denied \(ports below 1024/);
    assert.match(listenFailure(err('EADDRNOTAVAIL'), '::1', 8090), /^Cannot listen on \[::1\]:8090: ::1 is not an address of this machine/);
    assert.match(listenFailure(err('ENOTFOUND', 'getaddrinfo'), 'nowhere.invalid', 8090), /does not resolve/);
  });
  it('system errors become their first line; other errors are not system errors', () => {
    assert.equal(systemErrorLine(err('ENOSPC', 'write')), 'ENOSPC: something');
    assert.equal(systemErrorLine(new Error('plain')), undefined);
    assert.equal(systemErrorLine(Object.assign(new Error('x'), { code: 'SQLITE_BUSY' })), undefined);
  });
});
