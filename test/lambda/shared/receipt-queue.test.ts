/**
 * Receipt-queue messages: a job id in `{"deletion_id":"..."}` and nothing
 * else; anything else is malformed.
 */

import { parseReceiptMessageBody, receiptMessageBody } from '../../../lambda/shared/receipt-queue';

const ID = 'del_abcdefghijklmnopqrstuv';

test('a job id round-trips through the message body', () => {
  expect(receiptMessageBody(ID)).toBe(`{"deletion_id":"${ID}"}`);
  expect(parseReceiptMessageBody(receiptMessageBody(ID))).toBe(ID);
  expect(parseReceiptMessageBody(` {"deletion_id": "${ID}"}\n`)).toBe(ID);
});

test('only job ids become messages', () => {
  expect(() => receiptMessageBody('del_short')).toThrow('receiptMessageBody: not a deletion id');
});

test.each([
  ['the bare id (the deletion queue format)', ID],
  ['an extra member', `{"deletion_id":"${ID}","receipt":{}}`],
  ['no deletion_id', `{"id":"${ID}"}`],
  ['a bad id', '{"deletion_id":"del_x"}'],
  ['a number', '{"deletion_id":12}'],
  ['an array', `["${ID}"]`],
  ['null', 'null'],
  ['a JSON string', `"${ID}"`],
  ['not JSON', `{deletion_id:${ID}}`],
  ['empty', ''],
  ['a __proto__ member', `{"__proto__":{"deletion_id":"${ID}"}}`],
  ['too long', `{"deletion_id":"${ID}"${' '.repeat(300)}}`],
])('malformed: %s', (_label, body) => {
  expect(parseReceiptMessageBody(body)).toBeUndefined();
});

test('a body that is not a string is malformed', () => {
  expect(parseReceiptMessageBody(undefined)).toBeUndefined();
  expect(parseReceiptMessageBody({ deletion_id: ID })).toBeUndefined();
});
