import { WARNING_HEADER, warningHeader } from '../../../lambda/shared/warning-header';
import {
  INSECURE_TRUST_ALL_WARNING,
  TRUST_WARNING_HEADER,
  trustWarningHeaders,
  trustWarningText,
} from '../../../lambda/shared/trust/warning';

describe('X-Ephemera-Warning', () => {
  it('is one header holding every warning in order, joined by ", "; none without warnings', () => {
    expect(WARNING_HEADER).toBe('X-Ephemera-Warning');
    expect(warningHeader([])).toEqual({});
    expect(warningHeader([undefined, ''])).toEqual({});
    expect(warningHeader([undefined, 'b'])).toEqual({ 'X-Ephemera-Warning': 'b' });
    expect(warningHeader(['a', undefined, 'b', 'c'])).toEqual({ 'X-Ephemera-Warning': 'a, b, c' });
  });

  it('is the header the trust warning uses, which has no comma of its own', () => {
    expect(TRUST_WARNING_HEADER).toBe(WARNING_HEADER);
    expect(INSECURE_TRUST_ALL_WARNING).not.toContain(',');
    expect(trustWarningText('insecure_trust_all')).toBe(INSECURE_TRUST_ALL_WARNING);
    expect(trustWarningText('uploaded_and_public')).toBeUndefined();
    expect(trustWarningText(undefined)).toBeUndefined();
    expect(trustWarningHeaders('insecure_trust_all')).toEqual({
      [WARNING_HEADER]: INSECURE_TRUST_ALL_WARNING,
    });
    expect(trustWarningHeaders('uploaded_only')).toEqual({});
  });
});
