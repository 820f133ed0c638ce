import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { decodeEntities, excerpt, htmlToText } from './excerpt.js';

// PocketBase's own fixture (tools/picker/excerpt_modifier_test.go).
const PB_HTML = ` <script>var a = 123;</script>   <p>Hello</p><div id="test_id">t   est<b>12
	3</b><span>456</span></div><span>word <b>7</b> 89<span>!<b>?</b><b> a </b><b>b </b>c</span>#<h1>title</h1>`;
const PB_TEXT = 'Hello t est12 3456 word 7 89!? a b c# title';

describe('excerpt', () => {
  it('matches PocketBase plain text for its fixture', () => {
    assert.equal(excerpt(PB_HTML, 1000), PB_TEXT);
  });

  it('cuts to max without ellipsis', () => {
    assert.equal(excerpt(PB_HTML, 2), PB_TEXT.slice(0, 2));
    assert.equal(excerpt(PB_HTML, PB_TEXT.length), PB_TEXT);
    assert.equal(excerpt(PB_HTML, PB_TEXT.length + 5), PB_TEXT);
  });

  it('appends ... only when the text was cut', () => {
    assert.equal(excerpt(PB_HTML, 2, true), `${PB_TEXT.slice(0, 2)}...`);
    assert.equal(excerpt(PB_HTML, PB_TEXT.length, true), PB_TEXT);
    assert.equal(excerpt(PB_HTML, PB_TEXT.length + 5, true), PB_TEXT);
  });

  it('counts code points, not bytes or UTF-16 units', () => {
    assert.equal(excerpt('аб\nв ', 4, true), 'аб в');
    assert.equal(excerpt('аб\nв ', 3, true), 'аб...');
    assert.equal(excerpt('😀😀😀😀', 2, true), '😀😀...');
  });

  it('trims the cut text before the ellipsis', () => {
    assert.equal(excerpt('<p>Hello world</p>', 6, true), 'Hello...');
  });

  it('drops excluded subtrees, including nested ones and an unclosed head', () => {
    assert.equal(excerpt('a<svg><svg><text>x</text></svg><path/>y</svg>b', 100), 'ab');
    assert.equal(excerpt('<form><input value="x"><button>Go</button></form>after', 100), 'after');
    assert.equal(excerpt('<html><head><title>T</title><body><p>Body</p>', 100), 'Body');
    assert.equal(excerpt('x<style>p > a { color: red }</style>y<img src="a.png">z', 100), 'xyz');
  });

  it('separates blocks but not inline elements, and ignores stray end tags', () => {
    assert.equal(excerpt('<li>one</li><li>two</li>', 100), 'one two');
    assert.equal(excerpt('<b>bo</b><i>ld</i>', 100), 'bold');
    assert.equal(excerpt('a</div>b', 100), 'ab');
    assert.equal(excerpt('a<br>b<hr>c', 100), 'ab c');
  });

  it('decodes entities and keeps literal < and attribute > intact', () => {
    assert.equal(excerpt('<a title="x > y">Tom &amp; Jerry &lt;3 &#65;&#x42; &bogus; 1 < 2</a>', 100), 'Tom & Jerry <3 AB &bogus; 1 < 2');
    assert.equal(decodeEntities('&nbsp;&copy&unknown;&#xD800;'), '\u00a0\u00a9&unknown;\ufffd');
  });

  it('skips comments and doctype', () => {
    assert.equal(excerpt('<!DOCTYPE html><!-- <p>hidden</p> -->shown<!-- unterminated', 100), 'shown');
  });

  it('stops walking long inputs early without changing the result', () => {
    const long = '<p>word</p>'.repeat(100_000);
    assert.equal(excerpt(long, 9, true), 'word word...');
    assert.ok(htmlToText(long, 20).length < 40);
  });

  it('never throws on arbitrary junk', () => {
    for (const junk of ['<', '<<<>>>', '</', '<a', '<a href="', '<!', '<!--', '&', '&#', '&#x;', '<script>', '<svg>']) {
      assert.equal(typeof excerpt(junk, 10, true), 'string');
    }
  });
});
