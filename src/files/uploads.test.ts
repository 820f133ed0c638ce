import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Collection, FileField } from '../collections/model.js';
import { pixelFloodPng } from './images.test-util.js';
import { planUploads, uploadErrors } from './uploads.js';

const PNG = pixelFloodPng(1, 1);
const field = (name: string, extra: Partial<FileField> = {}): FileField =>
  ({
    id: name,
    name,
    type: 'file',
    system: false,
    hidden: false,
    presentable: false,
    maxSize: 0,
    maxSelect: 5,
    mimeTypes: null,
    thumbs: null,
    protected: false,
    required: false,
    ...extra,
  }) as FileField;
const collection = { id: 'c1', name: 'docs', type: 'base', fields: [field('docs'), field('avatar', { maxSelect: 1 })] } as unknown as Collection;
const upload = (f: string, filename = 'a.png', data = PNG) => ({ field: f, filename, data });

describe('planUploads', () => {
  it('merges uploads under a plain key after the plain names sent with it', async () => {
    const plan = await planUploads(collection, { docs: ['keep_1234567890.txt'] }, [upload('docs'), upload('docs', 'b.png')]);
    const value = plan.data.docs as string[];
    assert.equal(value.length, 3);
    assert.equal(value[0], 'keep_1234567890.txt');
    assert.deepEqual(value.slice(1), [...plan.uploads.keys()]);
    assert.match(value[1] as string, /^a[a-z0-9]{10}_[a-z0-9]{10}\.png$/);
  });

  it('replaces when no plain names were sent, and ignores plain values under modifier keys', async () => {
    const replace = await planUploads(collection, {}, [upload('docs')]);
    assert.equal((replace.data.docs as string[]).length, 1);
    const append = await planUploads(collection, { 'docs+': 'ignored.txt' }, [upload('docs+')]);
    assert.deepEqual(append.data['docs+'], [...append.uploads.keys()]);
  });

  it('ignores uploads for unknown or non-file fields and under `field-`', async () => {
    const plan = await planUploads(collection, {}, [upload('nope'), upload('docs-')]);
    assert.equal(plan.uploads.size, 0);
    assert.deepEqual(plan.data, {});
  });

  it('reads JSON-array strings sent as plain values', async () => {
    const plan = await planUploads(collection, { docs: '["x_1234567890.txt"]' }, [upload('docs')]);
    assert.equal((plan.data.docs as string[])[0], 'x_1234567890.txt');
  });
});

describe('uploadErrors', () => {
  it('checks size and the sniffed type', async () => {
    const small = field('docs', { maxSize: 4, mimeTypes: ['image/png'] });
    const plan = await planUploads({ ...collection, fields: [small] } as Collection, {}, [upload('docs')]);
    const errs = uploadErrors([...plan.uploads.values()]);
    assert.equal(errs.get('docs')?.code, 'validation_file_size_limit');

    const typed = field('docs', { mimeTypes: ['image/png'] });
    const fake = await planUploads({ ...collection, fields: [typed] } as Collection, {}, [upload('docs', 'fake.png', Buffer.from('not a png'))]);
    assert.equal(uploadErrors([...fake.uploads.values()]).get('docs')?.code, 'validation_invalid_mime_type');
    const real = await planUploads({ ...collection, fields: [typed] } as Collection, {}, [upload('docs', 'noext', PNG)]);
    assert.equal(uploadErrors([...real.uploads.values()]).size, 0);
  });

  it('accepts a CSV under text/csv and under text/plain, never HTML under either', async () => {
    for (const allowed of [['text/csv'], ['text/plain']]) {
      const typed = field('docs', { mimeTypes: allowed });
      const csv = await planUploads({ ...collection, fields: [typed] } as Collection, {}, [
        upload('docs', 'people.csv', Buffer.from('name,age\nAnn,31\nBo,4\n')),
      ]);
      assert.equal(uploadErrors([...csv.uploads.values()]).size, 0, allowed[0]);
      const html = await planUploads({ ...collection, fields: [typed] } as Collection, {}, [
        upload('docs', 'people.csv', Buffer.from('<html><script>x</script>')),
      ]);
      assert.equal(uploadErrors([...html.uploads.values()]).get('docs')?.code, 'validation_invalid_mime_type', allowed[0]);
    }
  });
});
