/**
 * Compile-time test (checked by `tsc --noEmit`, never run): keys the Jenkins chart 5.9.53 does not have must
 * not compile. If someone loosens the types (an index signature, `any`), a @ts-expect-error below becomes
 * unused and the type check fails.
 */
import { JenkinsValues, jenkinsValues } from "../manifests/jenkins-values";

const ok: JenkinsValues = jenkinsValues({ nodePort: 32080, retainData: false });

export const renamedKey: JenkinsValues = {
  ...ok,
  controller: {
    ...ok.controller,
    // @ts-expect-error controller.adminPassword was renamed to controller.admin.password in chart 5.0.0 (T06)
    adminPassword: "x",
  },
};

export const misspelled: JenkinsValues = {
  ...ok,
  // @ts-expect-error "persistance" is not a chart key
  persistance: { enabled: true },
};

export const wrongType: JenkinsValues = {
  ...ok,
  // @ts-expect-error createSecret must stay true when existingSecret is used (facts B.8)
  controller: { ...ok.controller, admin: { ...ok.controller.admin, createSecret: false } },
};
