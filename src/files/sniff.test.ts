import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import sharp from 'sharp';
import { baseMime, detectFileType, extensionFor, isSeparatedValues, mimeAllowed, SNIFF_BYTES } from './sniff.js';

const b = (...xs: number[]) => Buffer.from(xs);
const t = (s: string) => Buffer.from(s, 'utf8');
const typeOf = async (data: Uint8Array, name = '') => (await detectFileType(data, name)).type;
/** The first bytes of an OLE compound file (.doc/.xls/.ppt/.msg all share them). */
const OLE = Buffer.concat([b(0xd0, 0xcf, 0x11, 0xe0, 0xa1, 0xb1, 0x1a, 0xe1), Buffer.alloc(504)]);

describe('detectFileType: binary formats (file-type)', () => {
  it('recognises real images, audio, video and archives', async () => {
    const png = await sharp({ create: { width: 4, height: 4, channels: 3, background: '#f00' } })
      .png()
      .toBuffer();
    const jpeg = await sharp(png).jpeg().toBuffer();
    const webp = await sharp(png).webp().toBuffer();
    assert.equal(await typeOf(png), 'image/png');
    assert.equal(await typeOf(jpeg), 'image/jpeg');
    assert.equal(await typeOf(webp), 'image/webp');
    assert.equal(await typeOf(t('GIF89a\x01\x00\x01\x00\x80\x00\x00\x00\x00\x00')), 'image/gif');
    assert.equal(await typeOf(Buffer.concat([t('RIFF'), b(0x24, 0, 0, 0), t('WAVEfmt '), Buffer.alloc(32)])), 'audio/wav');
    assert.equal(await typeOf(Buffer.concat([b(0, 0, 0, 0x18), t('ftypisom'), b(0, 0, 2, 0), t('isomiso2'), Buffer.alloc(16)])), 'video/mp4');
    assert.equal(await typeOf(b(0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3)), 'application/gzip');
    assert.equal(await typeOf(Buffer.concat([t('%PDF-1.7\n%'), b(0xe2, 0xe3, 0xcf, 0xd3, 0x0a)])), 'application/pdf');
  });

  it('maps OLE compound files to the Office type their extension names, not x-ole-storage', async () => {
    assert.equal(await typeOf(OLE, 'report.doc'), 'application/msword');
    assert.equal(await typeOf(OLE, 'Budget.XLS'), 'application/vnd.ms-excel');
    assert.equal(await typeOf(OLE, 'slides.ppt'), 'application/vnd.ms-powerpoint');
    assert.equal(await typeOf(OLE, 'mail.msg'), 'application/vnd.ms-outlook');
    assert.equal(await typeOf(OLE, 'unknown.bin'), 'application/x-ole-storage');
    // The root storage's class id (directory in sector 0 → root entry at 512, CLSID at +80) wins over the name.
    const withClsid = (hex: string) => {
      const f = Buffer.concat([OLE, Buffer.alloc(512)]);
      f.writeUInt32LE(0, 48);
      Buffer.from(hex, 'hex').copy(f, 512 + 80);
      return f;
    };
    assert.equal(await typeOf(withClsid('0609020000000000c000000000000046'), 'noext'), 'application/msword');
    assert.equal(await typeOf(withClsid('2008020000000000c000000000000046'), 'report.doc'), 'application/vnd.ms-excel');
    assert.equal(await typeOf(withClsid('108d81649b4fcf1186ea00aa00b929e8'), 'x'), 'application/vnd.ms-powerpoint');
    assert.equal(await typeOf(withClsid('0b0d020000000000c000000000000046'), 'x'), 'application/vnd.ms-outlook');
    const far = Buffer.concat([OLE, Buffer.alloc(512)]);
    far.writeUInt32LE(0xffffffff, 48); // a directory sector past the end of the data: no class id, the name decides
    assert.equal(await typeOf(far, 'a.xls'), 'application/vnd.ms-excel');
    const doc = await detectFileType(OLE, 'report.doc');
    assert.ok(mimeAllowed(doc.type, ['application/msword'], doc.also));
    assert.ok(mimeAllowed(doc.type, ['application/x-ole-storage'], doc.also));
    assert.ok(!mimeAllowed(doc.type, ['application/vnd.ms-excel'], doc.also));
  });

  it('calls unknown binary data octet-stream, whatever its name', async () => {
    assert.equal(await typeOf(b(0, 1, 2, 3, 250, 251), 'photo.png'), 'application/octet-stream');
    // HTML behind a control byte is binary to every sniffer: never text/html, and never inline.
    assert.equal(await typeOf(t('<html>\x01<script>alert(1)</script>'), 'x.html'), 'application/octet-stream');
  });
});

describe('detectFileType: text', () => {
  it('tells HTML, SVG, XML, JSON and plain text apart (after a BOM and whitespace)', async () => {
    assert.equal(await typeOf(t('\ufeff  <!DOCTYPE html><p>x')), 'text/html; charset=utf-8');
    assert.equal(await typeOf(t('<script>alert(1)</script>')), 'text/html; charset=utf-8');
    assert.equal(await typeOf(t('<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"/>')), 'image/svg+xml');
    assert.equal(await typeOf(t('<?xml version="1.0"?>\n<svg xmlns="http://www.w3.org/2000/svg"></svg>')), 'image/svg+xml');
    assert.equal(await typeOf(t('<?xml version="1.0"?><note/>')), 'text/xml; charset=utf-8');
    assert.equal(await typeOf(t('{"a": [1, 2]}')), 'application/json');
    assert.equal(await typeOf(t(`[${'1,'.repeat(SNIFF_BYTES)}1]`)), 'application/json', 'JSON longer than the sniffed head');
    assert.equal(await typeOf(t('{not json')), 'text/plain; charset=utf-8');
    assert.equal(await typeOf(t('hello world\n')), 'text/plain; charset=utf-8');
    assert.equal(await typeOf(t('BMW and MZ are just words')), 'text/plain; charset=utf-8');
    assert.equal(await typeOf(Buffer.alloc(0)), 'text/plain; charset=utf-8');
    assert.equal(await typeOf(Buffer.from('caf\xe9 cr\xe8me\n', 'latin1')), 'text/plain', 'Latin-1 text is text, without a charset');
  });

  it('never lets the name make bytes active, or make active bytes inert', async () => {
    assert.equal(await typeOf(t('<html><script>alert(1)</script>'), 'data.csv'), 'text/html; charset=utf-8');
    assert.equal(await typeOf(t('<svg onload="alert(1)"></svg>'), 'notes.md'), 'image/svg+xml');
    assert.equal(await typeOf(t('just text'), 'page.html'), 'text/plain; charset=utf-8');
    assert.equal(await typeOf(t('just text'), 'image.svg'), 'text/plain; charset=utf-8');
    assert.equal(await typeOf(t('alert(1)'), 'x.js'), 'text/plain; charset=utf-8');
  });

  it('detects CSV and TSV by content, as PocketBase does', async () => {
    const csv = t('id,name,price\n1,"Widget, large",9.99\n2,"The ""best"" one",12\n');
    assert.equal(await typeOf(csv, 'export.txt'), 'text/csv; charset=utf-8');
    assert.equal(await typeOf(t('a\tb\tc\n1\t2\t3\n'), 'x'), 'text/tab-separated-values; charset=utf-8');
    // Excel's CSV export: Windows-1252 text with CRLF line ends.
    assert.equal(await typeOf(Buffer.from('Name,Ville\r\nZo\xe9,Paris\r\nA,B\r\n', 'latin1')), 'text/csv');
    // A long CSV: only whole lines of the sniffed head count.
    const long = t(`a,b,c\n${'1,"two",3\n'.repeat(1000)}`);
    assert.ok(long.length > SNIFF_BYTES);
    assert.equal(await typeOf(long), 'text/csv; charset=utf-8');
    // Ragged rows or a single column are not CSV by content …
    assert.equal(await typeOf(t('a,b\n1,2,3\n')), 'text/plain; charset=utf-8');
    assert.equal(await typeOf(t('one\ntwo\n')), 'text/plain; charset=utf-8');
    // … but a .csv name says so where the bytes cannot.
    assert.equal(await typeOf(t('one\ntwo\n'), 'list.csv'), 'text/csv; charset=utf-8');
  });

  it('reads separated values as Go’s encoding/csv does (quotes, comments, blank lines)', () => {
    assert.ok(isSeparatedValues('a,b\n"x\ny",z\n', ','));
    assert.ok(isSeparatedValues('# comment\na,b\n\n1,2', ','));
    assert.ok(isSeparatedValues('a,"b "c" d"\n1,2\n', ','), 'lazy quotes');
    assert.ok(!isSeparatedValues('a,b\n', ','), 'one record');
    assert.ok(!isSeparatedValues('a\nb\n', ','), 'one field');
    assert.ok(!isSeparatedValues('a,b\n1\n', ','), 'ragged');
  });

  it('names inert text formats by content or extension, and they are plain text too', async () => {
    assert.equal(await typeOf(t('BEGIN:VCARD\r\nVERSION:3.0\r\nFN:Ann\r\nEND:VCARD\r\n')), 'text/vcard; charset=utf-8');
    assert.equal(await typeOf(t('BEGIN:VCALENDAR\r\nVERSION:2.0\r\nEND:VCALENDAR\r\n')), 'text/calendar; charset=utf-8');
    assert.equal(await typeOf(t('WEBVTT\n\n00:00.000 --> 00:01.000\nHi\n')), 'text/vtt; charset=utf-8');
    assert.equal(await typeOf(t('# Title\n\nSome *text*.\n'), 'README.md'), 'text/markdown; charset=utf-8');
    assert.equal(await typeOf(t('key: value\n'), 'c.yml'), 'application/yaml; charset=utf-8');
    const md = await detectFileType(t('# Title\n'), 'README.md');
    assert.ok(mimeAllowed(md.type, ['text/markdown'], md.also));
    assert.ok(mimeAllowed(md.type, ['text/plain'], md.also), 'PocketBase calls Markdown text/plain');
    assert.ok(!mimeAllowed(md.type, ['text/csv'], md.also));
  });

  it('recognises text-only PDF, PostScript and RTF headers', async () => {
    assert.equal(await typeOf(t('%PDF-1.4\n1 0 obj\n')), 'application/pdf');
    assert.equal(await typeOf(t('%!PS-Adobe-3.0\n')), 'application/postscript');
    assert.equal(await typeOf(t('{\\rtf1\\ansi hello}')), 'text/rtf');
  });

  it('reads text behind a UTF-16 byte-order mark as text (not as the MPEG header FF FE looks like)', async () => {
    const le = (x: string) => Buffer.from(`\ufeff${x}`, 'utf16le');
    assert.equal(await typeOf(le('Name\tQty\r\nBolt\t100\r\n'), 'stock.txt'), 'text/tab-separated-values; charset=utf-16le');
    assert.equal(await typeOf(le('<html><script>alert(1)</script>'), 'x.png'), 'text/html; charset=utf-16le');
    const be = Buffer.from(le('hello 🙂 '.repeat(600)).swap16());
    assert.equal(await typeOf(be), 'text/plain; charset=utf-16be');
    assert.doesNotMatch(await typeOf(b(0xff, 0xfe, 0x00, 0xd8, 0x41, 0x00)), /^text\//, 'a lone surrogate is not text: the binary detector decides');
  });

  it('keeps a multi-byte character cut at the sniff boundary as UTF-8 text', async () => {
    const text = Buffer.concat([t('a'), Buffer.from('é'.repeat(3000), 'utf8')]); // byte 4096 falls inside an 'é'
    assert.equal(await typeOf(text), 'text/plain; charset=utf-8');
  });
});

describe('mimeAllowed', () => {
  it('matches base types and aliases both ways, never a parent type', () => {
    assert.ok(mimeAllowed('image/jpeg', ['image/jpg']));
    assert.ok(mimeAllowed('image/jpeg', ['IMAGE/JPEG']));
    assert.ok(mimeAllowed('video/x-matroska', ['video/matroska']));
    assert.ok(mimeAllowed('application/vnd.rar', ['application/x-rar-compressed']));
    assert.ok(mimeAllowed('text/plain; charset=utf-8', ['text/plain']));
    assert.ok(!mimeAllowed('text/html; charset=utf-8', ['text/plain']));
    assert.ok(!mimeAllowed('image/svg+xml', ['image/png', 'image/jpeg']));
    assert.equal(baseMime(' Text/HTML ; charset=x'), 'text/html');
  });

  it('derives extensions for types', () => {
    assert.equal(extensionFor('image/jpeg'), 'jpg');
    assert.equal(extensionFor('image/png'), 'png');
    assert.equal(extensionFor('text/plain; charset=utf-8'), 'txt');
    assert.equal(extensionFor('text/csv; charset=utf-8'), 'csv');
    assert.equal(extensionFor('application/msword'), 'doc');
    assert.equal(extensionFor('application/octet-stream'), '');
  });
});
