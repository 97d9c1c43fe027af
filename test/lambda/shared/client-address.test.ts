import type { ALBEvent, APIGatewayProxyEvent } from 'aws-lambda';
import { toHttpRequest } from '../../../lambda/shared/http-event';

const alb = (multiValueHeaders: Record<string, string[]>): ALBEvent => ({
  requestContext: { elb: { targetGroupArn: 'arn:aws:elasticloadbalancing:eu-west-1:1:tg/x/y' } },
  httpMethod: 'POST',
  path: '/v1/chat/completions',
  multiValueHeaders,
  multiValueQueryStringParameters: {},
  body: null,
  isBase64Encoded: false,
});

describe('the client address (keys the back-off after failed API keys)', () => {
  test('from the load balancer: the entry it appended, never one the client wrote', () => {
    expect(toHttpRequest(alb({ 'x-forwarded-for': ['198.51.100.7'] })).clientAddress).toBe(
      '198.51.100.7',
    );
    // A client that sends its own X-Forwarded-For gets the load balancer's entry after it.
    expect(
      toHttpRequest(alb({ 'x-forwarded-for': ['10.0.0.1, 10.0.0.2,198.51.100.7'] })).clientAddress,
    ).toBe('198.51.100.7');
    expect(
      toHttpRequest(alb({ 'X-Forwarded-For': ['10.0.0.1', '2001:db8::1'] })).clientAddress,
    ).toBe('2001:db8::1');
  });

  test('from API Gateway: the source IP of the request context, whatever the headers say', () => {
    const event = {
      httpMethod: 'POST',
      path: '/v1/chat/completions',
      headers: { 'X-Forwarded-For': '10.9.9.9' },
      multiValueHeaders: { 'X-Forwarded-For': ['10.9.9.9'] },
      requestContext: { identity: { sourceIp: '203.0.113.9' } },
      body: null,
      isBase64Encoded: false,
    } as unknown as APIGatewayProxyEvent;
    expect(toHttpRequest(event).clientAddress).toBe('203.0.113.9');
  });

  test("unknown is '': no header, no request context, or something too long to be an address", () => {
    expect(toHttpRequest(alb({})).clientAddress).toBe('');
    expect(toHttpRequest({} as ALBEvent).clientAddress).toBe('');
    expect(toHttpRequest(alb({ 'x-forwarded-for': ['x'.repeat(65)] })).clientAddress).toBe('');
  });
});
