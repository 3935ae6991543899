// Defends the RSA SecurID decisions (src/core/rsa.ts): a push is SUCCESS only on RSA's SUCCESS, a
// step-up RSA asks for is never taken as success, and failures do not say whether the person exists.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  ERROR_RSA_BAD_STATE as RSA_ERROR_BAD_STATE,
  ERROR_RSA_FAILED as RSA_ERROR_FAILED,
  ERROR_RSA_NOT_AVAILABLE as RSA_ERROR_NOT_AVAILABLE,
  ERROR_RSA_STEP_UP as RSA_ERROR_STEP_UP,
  decodePushState,
  encodePushState,
  rsaInitializeOutcome,
  rsaMethodOffered,
  rsaPushStatus,
  rsaReferenceId,
  rsaSubjectName,
  rsaTokencodeStatus,
  type RsaAuthnResponse,
} from '../../src/core/rsa.js';

const answer = (code: string, extra: Partial<RsaAuthnResponse> = {}): RsaAuthnResponse => ({ context: {}, attemptResponseCode: code, ...extra });
const challenge = (methods: Array<{ methodId: string; notApplicable?: boolean; referenceId?: string }>): RsaAuthnResponse['challengeMethods'] => ({
  challenges: [
    {
      requiredMethods: methods.map((m) => ({
        methodId: m.methodId,
        versions: [{ ...(m.referenceId ? { referenceId: m.referenceId } : {}), methodAttributes: m.notApplicable ? [{ name: 'METHOD_NOT_APPLICABLE' }] : [] }],
      })),
    },
  ],
});

describe('rsa core', () => {
  it('maps push answers as NOTES §3 suggests', () => {
    assert.deepEqual(rsaPushStatus(answer('IN_PROCESS')), { status: 'PENDING', error: null });
    assert.deepEqual(rsaPushStatus(answer('CHALLENGE')), { status: 'PENDING', error: null });
    assert.deepEqual(rsaPushStatus(answer('SUCCESS')), { status: 'SUCCESS', error: null });
    assert.deepEqual(rsaPushStatus(answer('FAIL')), { status: 'FAILED', error: RSA_ERROR_FAILED });
    const error = rsaPushStatus(answer('ERROR', { attemptReasonCode: 'AUTHN_ATTEMPT_EXPIRED' }));
    assert.equal(error.status, 'FAILED');
    assert.match(error.error ?? '', /AUTHN_ATTEMPT_EXPIRED/);
    assert.equal(rsaPushStatus(answer('SOMETHING_NEW')).status, 'FAILED');
  });

  it('never takes a step-up challenge after an approved push as success', () => {
    const stepUp = answer('CHALLENGE', { credentialValidationResults: [{ methodId: 'APPROVE', methodResponseCode: 'SUCCESS' }] });
    assert.deepEqual(rsaPushStatus(stepUp), { status: 'FAILED', error: RSA_ERROR_STEP_UP });
  });

  it('decides a tokencode at once: only SUCCESS succeeds', () => {
    assert.equal(rsaTokencodeStatus(answer('SUCCESS')).status, 'SUCCESS');
    for (const code of ['FAIL', 'CHALLENGE', 'IN_PROCESS', 'ERROR']) assert.equal(rsaTokencodeStatus(answer(code)).status, 'FAILED', code);
  });

  it('goes on after an initialize CHALLENGE and stops on FAIL or ERROR', () => {
    assert.equal(rsaInitializeOutcome(answer('CHALLENGE')), undefined);
    assert.deepEqual(rsaInitializeOutcome(answer('FAIL', { attemptReasonCode: 'USER_NOT_FOUND' })), { status: 'FAILED', error: RSA_ERROR_FAILED });
    assert.equal(rsaInitializeOutcome(answer('ERROR'))?.status, 'FAILED');
  });

  it('reads which methods are offered and the push referenceId', () => {
    const offered = answer('CHALLENGE', { challengeMethods: challenge([{ methodId: 'SECURID' }, { methodId: 'APPROVE', notApplicable: true }]) });
    assert.equal(rsaMethodOffered(offered, 'SECURID'), true);
    assert.equal(rsaMethodOffered(offered, 'APPROVE'), false);
    assert.equal(rsaMethodOffered(answer('CHALLENGE'), 'APPROVE'), true, 'no list: let verify decide');
    const pending = answer('IN_PROCESS', { challengeMethods: challenge([{ methodId: 'APPROVE', referenceId: 'ref-1' }]) });
    assert.equal(rsaReferenceId(pending), 'ref-1');
    assert.equal(rsaReferenceId(answer('IN_PROCESS')), null);
  });

  it('takes the subject from the configured attribute, or the alias', () => {
    assert.equal(rsaSubjectName('ann', { rsaUser: 'ann@corp' }, null), 'ann');
    assert.equal(rsaSubjectName('ann', { rsaUser: 'ann@corp' }, 'rsaUser'), 'ann@corp');
    assert.equal(rsaSubjectName('ann', {}, 'rsaUser'), undefined);
  });

  it('round-trips the push state and refuses anything else', () => {
    const state = { authnAttemptId: 'a', messageId: 'm', referenceId: null };
    assert.deepEqual(decodePushState(encodePushState(state)), state);
    assert.equal(decodePushState('not json'), undefined);
    assert.equal(decodePushState('{"authnAttemptId":1}'), undefined);
    assert.equal(decodePushState(undefined), undefined);
  });

  it('an initialize SUCCESS means RSA asked for nothing more: the verification succeeds', () => {
    assert.deepEqual(rsaInitializeOutcome(answer('SUCCESS')), { status: 'SUCCESS', error: null });
    assert.deepEqual(rsaInitializeOutcome(answer('ERROR', { attemptReasonCode: 'BAD_REQUEST' })), { status: 'FAILED', error: 'RSA SecurID reported an error (BAD_REQUEST).' });
  });

  it('a correct tokencode answered by a CHALLENGE is a step-up this service cannot satisfy; a wrong one just fails', () => {
    const stepUp = answer('CHALLENGE', { credentialValidationResults: [{ methodId: 'SECURID', methodResponseCode: 'SUCCESS' }] });
    assert.deepEqual(rsaTokencodeStatus(stepUp), { status: 'FAILED', error: RSA_ERROR_STEP_UP });
    const wrong = answer('CHALLENGE', { credentialValidationResults: [{ methodId: 'SECURID', methodResponseCode: 'FAIL' }] });
    assert.deepEqual(rsaTokencodeStatus(wrong), { status: 'FAILED', error: RSA_ERROR_FAILED });
    // Success of another method is not success of the tokencode.
    const otherMethod = answer('CHALLENGE', { credentialValidationResults: [{ methodId: 'APPROVE', methodResponseCode: 'SUCCESS' }] });
    assert.deepEqual(rsaTokencodeStatus(otherMethod), { status: 'FAILED', error: RSA_ERROR_FAILED });
    assert.deepEqual(rsaTokencodeStatus(answer('FAIL')), { status: 'FAILED', error: RSA_ERROR_FAILED });
    assert.deepEqual(rsaTokencodeStatus(answer('IN_PROCESS')), { status: 'FAILED', error: RSA_ERROR_FAILED });
    assert.deepEqual(rsaTokencodeStatus(answer('SUCCESS')), { status: 'SUCCESS', error: null });
  });

  it('a push CHALLENGE where another method succeeded is still pending', () => {
    const other = answer('CHALLENGE', { credentialValidationResults: [{ methodId: 'SECURID', methodResponseCode: 'SUCCESS' }] });
    assert.deepEqual(rsaPushStatus(other), { status: 'PENDING', error: null });
  });

  it('shows only a code-shaped reason from RSA, never its free text', () => {
    assert.equal(rsaPushStatus(answer('ERROR', { attemptReasonCode: 'call <evil> now' })).error, 'RSA SecurID reported an error.');
    assert.equal(rsaTokencodeStatus(answer('ERROR', { attemptReasonCode: 'NO_SUCH_THING' })).error, 'RSA SecurID reported an error (NO_SUCH_THING).');
  });

  it('a method is offered when any of its versions is applicable, or it lists no versions; never when not listed', () => {
    const both = answer('CHALLENGE', {
      challengeMethods: {
        challenges: [
          { requiredMethods: [{ methodId: 'APPROVE', versions: [{ methodAttributes: [{ name: 'METHOD_NOT_APPLICABLE' }] }, { methodAttributes: [] }] }] },
        ],
      },
    });
    assert.equal(rsaMethodOffered(both, 'APPROVE'), true);
    const bare = answer('CHALLENGE', { challengeMethods: { challenges: [{ requiredMethods: [{ methodId: 'APPROVE' }] }] } });
    assert.equal(rsaMethodOffered(bare, 'APPROVE'), true);
    const onlySecurid = answer('CHALLENGE', { challengeMethods: challenge([{ methodId: 'SECURID' }]) });
    assert.equal(rsaMethodOffered(onlySecurid, 'APPROVE'), false);
    // Methods are gathered across every challenge RSA offers.
    const second = answer('CHALLENGE', { challengeMethods: { challenges: [{ requiredMethods: [] }, { requiredMethods: [{ methodId: 'APPROVE', versions: [] }] }] } });
    assert.equal(rsaMethodOffered(second, 'APPROVE'), true);
  });

  it('takes the referenceId of the asked method only, the first version that has one', () => {
    const response = answer('IN_PROCESS', {
      challengeMethods: {
        challenges: [
          {
            requiredMethods: [
              { methodId: 'SECURID', versions: [{ referenceId: 'not-this' }] },
              { methodId: 'APPROVE', versions: [{}, { referenceId: 'ref-2' }, { referenceId: 'ref-3' }] },
            ],
          },
        ],
      },
    });
    assert.equal(rsaReferenceId(response), 'ref-2');
    assert.equal(rsaReferenceId(response, 'SECURID'), 'not-this');
  });

  it('trims the named attribute and treats a blank one as missing', () => {
    assert.equal(rsaSubjectName('ann', { rsaUser: '  ann@corp ' }, 'rsaUser'), 'ann@corp');
    assert.equal(rsaSubjectName('ann', { rsaUser: '   ' }, 'rsaUser'), undefined);
  });

  it('keeps the referenceId of a stored push state, and reads a missing one as null', () => {
    const state = { authnAttemptId: 'a', messageId: 'm', referenceId: 'r' };
    assert.deepEqual(decodePushState(encodePushState(state)), state);
    assert.deepEqual(decodePushState('{"authnAttemptId":"a","messageId":"m","referenceId":5}'), { authnAttemptId: 'a', messageId: 'm', referenceId: null });
    assert.equal(decodePushState('{"authnAttemptId":"a"}'), undefined);
  });

  it('a push IN_PROCESS is pending, and a tokencode FAIL is a failure, whatever the method results say', () => {
    const approved = [{ methodId: 'APPROVE', methodResponseCode: 'SUCCESS' }];
    assert.deepEqual(rsaPushStatus(answer('IN_PROCESS', { credentialValidationResults: approved })), { status: 'PENDING', error: null });
    const tokencodeRight = [{ methodId: 'SECURID', methodResponseCode: 'SUCCESS' }];
    assert.deepEqual(rsaTokencodeStatus(answer('FAIL', { credentialValidationResults: tokencodeRight })), { status: 'FAILED', error: RSA_ERROR_FAILED });
  });

  it('a listed version without attributes counts as applicable', () => {
    const plain = answer('CHALLENGE', { challengeMethods: { challenges: [{ requiredMethods: [{ methodId: 'APPROVE', versions: [{}] }] }] } });
    assert.equal(rsaMethodOffered(plain, 'APPROVE'), true);
  });

  it('refuses a stored push state without its attempt id', () => {
    assert.equal(decodePushState('{"messageId":"m","referenceId":"r"}'), undefined);
  });

  it('each failure reason is a distinct sentence, since callers show it', () => {
    const reasons = [RSA_ERROR_FAILED, RSA_ERROR_NOT_AVAILABLE, RSA_ERROR_STEP_UP, RSA_ERROR_BAD_STATE];
    for (const reason of reasons) assert.match(reason, /^[A-Z].{10,}\.$/);
    assert.equal(new Set(reasons).size, reasons.length);
  });
});
