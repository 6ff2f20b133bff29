import test from 'ava';
import { idMapText } from '../../../src/launcher/spec-isolation.js';
import { validateSpec } from '../../../src/launcher/spec.js';
import { SpecError } from '../../../src/util/errors.js';

const map = (containerID: number, hostID: number, size: number) => ({ containerID, hostID, size });
const base = (userns: unknown, extra: Record<string, unknown> = {}) => ({
  name: 'svc', userns, processes: [{ name: 'a', command: ['/bin/true'] }], ...extra,
});

test('userns: the maps are kept and written as the kernel reads them', (t) => {
  const s = validateSpec(base({ uidMap: [map(0, 100000, 65536)], gidMap: [map(0, 100000, 1000), map(1000, 300000, 10)] }));
  t.deepEqual(s.userns!.gidMap, [map(0, 100000, 1000), map(1000, 300000, 10)]);
  t.is(idMapText(s.userns!.gidMap), '0 100000 1000\n1000 300000 10\n');
  t.is(validateSpec(base(undefined)).userns, null);
});

const broken: Array<[string, Record<string, unknown>, RegExp]> = [
  ['no gidMap', base({ uidMap: [map(0, 100000, 65536)] }), /^userns\.gidMap: expected a non-empty list/],
  ['container 0 unmapped', base({ uidMap: [map(1, 100000, 10)], gidMap: [map(0, 100000, 10)] }), /^userns\.uidMap: container id 0 must be mapped/],
  ['overlapping container ranges', base({ uidMap: [map(0, 100000, 10), map(5, 200000, 10)], gidMap: [map(0, 1, 1)] }), /^userns\.uidMap: container id ranges overlap/],
  ['overlapping host ranges', base({ uidMap: [map(0, 100000, 10), map(10, 100005, 10)], gidMap: [map(0, 1, 1)] }), /^userns\.uidMap: host id ranges overlap/],
  ['a range past the last id', base({ uidMap: [map(0, 4294967200, 1000)], gidMap: [map(0, 1, 1)] }), /^userns\.uidMap\[0\]\.size: the range runs past id/],
  ['a zero size', base({ uidMap: [map(0, 1, 0)], gidMap: [map(0, 1, 1)] }), /^userns\.uidMap\[0\]\.size: must be at least 1/],
  ['an unknown key', base({ uidMap: [{ ...map(0, 1, 1), inside: 3 }], gidMap: [map(0, 1, 1)] }), /^userns\.uidMap\[0\]\.inside: unknown field/],
  ['network host', base({ uidMap: [map(0, 1, 1)], gidMap: [map(0, 1, 1)] }, { network: 'host' }), /^userns: a user namespace needs network: none/],
  ['a user not mapped', base({ uidMap: [map(0, 100000, 1000)], gidMap: [map(0, 100000, 1000)] }, { processes: [{ name: 'a', command: ['/bin/true'], user: '1000:0' }] }), /^processes\[0\]\.user: uid 1000 is not mapped/],
  ['a group not mapped', base({ uidMap: [map(0, 100000, 1000)], gidMap: [map(0, 100000, 1000)] }, { processes: [{ name: 'a', command: ['/bin/true'], groups: [5000] }] }), /^processes\[0\]\.groups: gid 5000 is not mapped/],
];

for (const [what, spec, expected] of broken) {
  test(`userns refused: ${what}`, (t) => {
    const err = t.throws(() => validateSpec(spec), { instanceOf: SpecError }) as SpecError;
    t.true(err.issues.some((i) => expected.test(`${i.path}: ${i.message}`)), err.message);
  });
}
