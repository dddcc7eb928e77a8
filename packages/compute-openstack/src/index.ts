export { openstackComputeProvider } from './definition';
export { openstackComputeEnv, openstackComputeEnvSchema, type OpenStackComputeEnv } from './env';
export {
  GUEST_CONFIG_DIR,
  filesOfUserData,
  guestFiles,
  userDataFor,
  type InjectedFile,
} from './injection';
export {
  GUEST_PATHS,
  GUESTS_GROUP,
  OpenStackComputeProvider,
  chooseGuestsGroup,
  guestUserData,
  instanceTag,
  securityGroupName,
  statusOf,
  toComputeError,
  type GuestsGroups,
  type OpenStackComputeProviderOptions,
} from './openstack-provider';
export { ruleChanges, sourcesOfRules, streamRuleChanges, wantedRules } from './rules';
