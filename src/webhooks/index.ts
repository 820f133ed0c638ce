/**
 * Webhooks: signed outbound deliveries with retries (service.ts) and verified inbound endpoints
 * (inbound.ts). App.webhooks is a WebhookService; docs/webhooks.md describes events, payloads and headers.
 */
export { DEFAULT_SCHEDULE_MS, DELIVER_JOB, WebhookService, webhookRecord } from './service.js';
export type { AttemptInfo, EmitOptions, EndpointInfo, MessageInfo, WebhookOptions } from './service.js';
export { INBOUND_JOB, InboundWebhooks } from './inbound.js';
export type { InboundEvent, InboundOptions, InboundRequest, InboundVerifier } from './inbound.js';
export { customTypeError, matches as eventMatches, patternError, RECORD_ACTIONS, TEST_EVENT } from './events.js';
export { DEFAULT_TOLERANCE_SECONDS, generateSecret, signStandard, verifyGithub, verifyStandard, verifyStripe } from './signing.js';
