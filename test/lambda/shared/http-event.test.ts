import type { ALBEvent, APIGatewayProxyEvent } from 'aws-lambda';
import fc from 'fast-check';
import {
  decodeQueryComponent,
  headerValues,
  toFrontDoorResult,
  toHttpRequest,
  type HttpResult,
} from '../../../lambda/shared/http-event';
import { parseMetadataHeaders } from '../../../lib/core/metadata-header';

const elb = { elb: { targetGroupArn: 'arn:aws:elasticloadbalancing:eu-west-1:1:targetgroup/g/1' } };

/** A load-balancer event as the target group sends it with multi-value headers off. */
const singleValue = (extra: Partial<ALBEvent> = {}): ALBEvent => ({
  requestContext: elb,
  httpMethod: 'post',
  path: '/v1/chat/completions',
  headers: { Authorization: 'Bearer x', 'x-ephemera-metadata': 'customer_id=last' },
  queryStringParameters: { customer_id: 'a%20b+c' },
  body: '{}',
  isBase64Encoded: false,
  ...extra,
});

/** The same request with multi-value headers on (Ephemera's target groups). */
const multiValue = (extra: Partial<ALBEvent> = {}): ALBEvent => ({
  requestContext: elb,
  httpMethod: 'DELETE',
  path: '/v1/user_data',
  multiValueHeaders: {
    authorization: ['Bearer x'],
    'x-ephemera-metadata': ['customer_id=first', 'customer_id=second'],
  },
  multiValueQueryStringParameters: { customer_id: ['caf%C3%A9', 'x'], 'a%2Bb': ['1'] },
  body: null,
  isBase64Encoded: false,
  ...extra,
});

const result: HttpResult = {
  statusCode: 200,
  statusDescription: '200 OK',
  headers: { 'Content-Type': 'application/json', 'X-Ephemera-Retention': 'content=none' },
  body: '{"ok":true}',
  isBase64Encoded: false,
};

describe('toHttpRequest', () => {
  test('a single-value load-balancer event: lower-case names, upper-case method, decoded query', () => {
    const request = toHttpRequest(singleValue());
    expect(request.method).toBe('POST');
    expect(request.path).toBe('/v1/chat/completions');
    expect(headerValues(request, 'authorization')).toEqual(['Bearer x']);
    expect(headerValues(request, 'x-ephemera-metadata')).toEqual(['customer_id=last']);
    expect(request.query.get('customer_id')).toEqual(['a b c']);
    expect(request.queryMalformed).toBe(false);
    expect(request.body).toBe('{}');
  });

  test('a multi-value load-balancer event keeps every value in order and decodes names and values', () => {
    const request = toHttpRequest(multiValue());
    expect(headerValues(request, 'x-ephemera-metadata')).toEqual([
      'customer_id=first',
      'customer_id=second',
    ]);
    expect(request.query.get('customer_id')).toEqual(['café', 'x']);
    expect(request.query.get('a+b')).toEqual(['1']);
    expect(request.body).toBeNull();
  });

  test('a malformed percent-escape marks the query malformed instead of throwing', () => {
    const request = toHttpRequest(
      multiValue({ multiValueQueryStringParameters: { customer_id: ['%E0%A4%A'] } }),
    );
    expect(request.queryMalformed).toBe(true);
    expect(request.query.has('customer_id')).toBe(false);
  });

  test('an API Gateway event: its query is already decoded, so it is taken as it is', () => {
    const event = {
      requestContext: { stage: 'v1' },
      httpMethod: 'GET',
      path: '/v1/logs',
      headers: { Authorization: 'Bearer x' },
      multiValueHeaders: { Authorization: ['Bearer x'] },
      queryStringParameters: { filter: 'customer_id::a+b%' },
      multiValueQueryStringParameters: { filter: ['customer_id::a+b%'] },
      body: null,
      isBase64Encoded: false,
    } as unknown as APIGatewayProxyEvent;
    const request = toHttpRequest(event);
    expect(request.query.get('filter')).toEqual(['customer_id::a+b%']);
    expect(request.queryMalformed).toBe(false);
    expect(headerValues(request, 'authorization')).toEqual(['Bearer x']);
  });

  test('an API Gateway event with a repeated header: every value in order, so the first customer_id wins', () => {
    // The REST proxy integration keeps every value in multiValueHeaders and
    // only the last in headers; names keep the client's case.
    const event = {
      resource: '/v1/chat/completions',
      requestContext: { stage: 'v1' },
      httpMethod: 'POST',
      path: '/v1/chat/completions',
      headers: { Authorization: 'Bearer x', 'X-Ephemera-Metadata': 'customer_id=second' },
      multiValueHeaders: {
        Authorization: ['Bearer x'],
        'X-Ephemera-Metadata': ['team=a;customer_id=first', 'customer_id=second'],
      },
      queryStringParameters: null,
      multiValueQueryStringParameters: null,
      body: '{}',
      isBase64Encoded: false,
    } as unknown as APIGatewayProxyEvent;
    const values = headerValues(toHttpRequest(event), 'x-ephemera-metadata');
    expect(values).toEqual(['team=a;customer_id=first', 'customer_id=second']);
    expect(parseMetadataHeaders(values)).toEqual({
      ok: true,
      customerId: 'first',
      unknown: { names: ['team'], unnamed: 0 },
    });
  });

  test('never throws, whatever the event holds', () => {
    fc.assert(
      fc.property(fc.anything(), (junk) => {
        const request = toHttpRequest(junk as ALBEvent);
        expect(typeof request.method).toBe('string');
        expect(typeof request.path).toBe('string');
      }),
    );
  });
});

describe('toFrontDoorResult', () => {
  test('answers a multi-value event with multiValueHeaders (the load balancer ignores headers then)', () => {
    expect(toFrontDoorResult(multiValue(), result)).toEqual({
      statusCode: 200,
      statusDescription: '200 OK',
      multiValueHeaders: {
        'Content-Type': ['application/json'],
        'X-Ephemera-Retention': ['content=none'],
      },
      body: '{"ok":true}',
      isBase64Encoded: false,
    });
  });

  test('answers a single-value event with headers', () => {
    expect(toFrontDoorResult(singleValue(), result)).toEqual(result);
  });

  test('answers API Gateway without statusDescription, which it does not take', () => {
    const event = { requestContext: {}, httpMethod: 'GET', path: '/' } as APIGatewayProxyEvent;
    const { statusDescription, ...rest } = result;
    void statusDescription;
    expect(toFrontDoorResult(event, result)).toEqual(rest);
  });
});

describe('decodeQueryComponent', () => {
  test('inverts form encoding for any string', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme' }), (s) => {
        expect(decodeQueryComponent(new URLSearchParams({ v: s }).toString().slice(2))).toBe(s);
      }),
    );
  });
});
