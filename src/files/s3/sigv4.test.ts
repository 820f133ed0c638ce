import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { canonicalQuery, EMPTY_SHA256, sha256Hex, signRequest, uriEncode } from './sigv4.js';
import { S3Client } from './client.js';

// The worked examples of AWS's "Signature Calculations for the Authorization Header" (S3 docs).
const KEY = { accessKey: 'AKIAIOSFODNN7EXAMPLE', secret: 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY', region: 'us-east-1' };
const HOST = 'examplebucket.s3.amazonaws.com';
const DATE = new Date('2013-05-24T00:00:00Z');
const sig = (h: Record<string, string>) => /Signature=([0-9a-f]{64})$/.exec(h.authorization ?? '')?.[1];

describe('SigV4 (AWS documentation examples)', () => {
  it('GET Object with a Range header', () => {
    const h = signRequest({ method: 'GET', host: HOST, path: '/test.txt', headers: { Range: 'bytes=0-9' }, payloadHash: EMPTY_SHA256, date: DATE }, KEY);
    assert.equal(sig(h), 'f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41');
    assert.match(
      h.authorization as string,
      /Credential=AKIAIOSFODNN7EXAMPLE\/20130524\/us-east-1\/s3\/aws4_request, SignedHeaders=host;range;x-amz-content-sha256;x-amz-date,/,
    );
    assert.equal(h['x-amz-date'], '20130524T000000Z');
  });

  it('PUT Object, with a key that needs encoding and a hashed payload', () => {
    const payload = sha256Hex('Welcome to Amazon S3.');
    const h = signRequest(
      {
        method: 'PUT',
        host: HOST,
        path: '/test$file.text',
        headers: { Date: 'Fri, 24 May 2013 00:00:00 GMT', 'x-amz-storage-class': 'REDUCED_REDUNDANCY' },
        payloadHash: payload,
        date: DATE,
      },
      KEY,
    );
    assert.equal(sig(h), '98ad721746da40c64f1a55b78f14c238d841ea1380cd77a1b5971af0ece108bd');
  });

  it('GET Bucket lifecycle and ListObjects (query strings)', () => {
    const lifecycle = signRequest({ method: 'GET', host: HOST, path: '/', query: { lifecycle: '' }, payloadHash: EMPTY_SHA256, date: DATE }, KEY);
    assert.equal(sig(lifecycle), 'fea454ca298b7da1c68078a5d1bdbfbbe0d65c699e0f91ac7a200a0136783543');
    const list = signRequest({ method: 'GET', host: HOST, path: '/', query: { prefix: 'J', 'max-keys': '2' }, payloadHash: EMPTY_SHA256, date: DATE }, KEY);
    assert.equal(sig(list), '34b48302e7b5fa45bde8084f4b7868a86f0a534bc59db6670ed5711ef69dc6f7');
  });

  it('encodes like RFC 3986', () => {
    assert.equal(uriEncode('/a b/ü~.-_*', true), '/a%20b/%C3%BC~.-_%2A');
    assert.equal(uriEncode('a/b', false), 'a%2Fb');
    assert.equal(canonicalQuery({ b: '2', a: 'x y', 'list-type': '2' }), 'a=x%20y&b=2&list-type=2');
  });
});

describe('S3Client addressing', () => {
  const base = { bucket: 'media', accessKey: 'k', secret: 's' };
  it('uses virtual-host style on AWS by default and path style when forced', () => {
    const aws = new S3Client({ ...base, region: 'eu-west-1', endpoint: '', forcePathStyle: false });
    assert.equal(aws.objectUrl('c/r/a b.png').url, 'https://media.s3.eu-west-1.amazonaws.com/c/r/a%20b.png');
    const minio = new S3Client({ ...base, region: '', endpoint: 'http://127.0.0.1:9000', forcePathStyle: true });
    assert.deepEqual(minio.objectUrl('c/r/x.png'), { url: 'http://127.0.0.1:9000/media/c/r/x.png', host: '127.0.0.1:9000', path: '/media/c/r/x.png' });
    const gcs = new S3Client({ ...base, region: 'auto', endpoint: 'storage.googleapis.com', forcePathStyle: false });
    assert.equal(gcs.objectUrl('k').url, 'https://media.storage.googleapis.com/k');
  });

  it('refuses non-http endpoints', () => {
    assert.throws(() => new S3Client({ ...base, region: '', endpoint: 'file:///etc', forcePathStyle: true }));
  });
});
