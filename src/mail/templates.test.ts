import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { escapeHtml, htmlToText, renderTemplate } from './templates.js';

describe('mail templates', () => {
  it('replaces known placeholders once, escaped in the body, plain (one line) in the subject', () => {
    const out = renderTemplate(
      { subject: 'Hi {RECORD:name}\r\nBcc: x@evil.test', body: '<p>{RECORD:name}</p><a href="{APP_URL}/x/{TOKEN}">go</a> {OTP}' },
      { APP_URL: 'https://a.test', TOKEN: 'tok"en', OTP: '123', record: { name: '<b>{TOKEN}</b>' } },
    );
    assert.equal(out.subject, 'Hi <b>{TOKEN}</b> Bcc: x@evil.test');
    assert.equal(out.html, '<p>&lt;b&gt;{TOKEN}&lt;/b&gt;</p><a href="https://a.test/x/tok&quot;en">go</a> 123');
  });

  it('leaves unknown placeholders and template syntax of other engines as text', () => {
    const body = '{UNKNOWN} {{7*7}} <%= 7*7 %> ${1+1} {RECORD:missing}';
    assert.equal(renderTemplate({ subject: '', body }, {}).html, '{UNKNOWN} {{7*7}} <%= 7*7 %> ${1+1} ');
  });

  it('escapes the five HTML-significant characters and builds a text alternative', () => {
    assert.equal(escapeHtml(`<>&"'`), '&lt;&gt;&amp;&quot;&#39;');
    assert.equal(htmlToText('<p>Hello &amp; welcome</p><p><a href="https://x.test/v">Verify</a></p>'), 'Hello & welcome\nVerify: https://x.test/v');
  });
});
