export {
  OpenStackError,
  codeForStatus,
  isOpenStackError,
  parseErrorBody,
  type OpenStackErrorCode,
  type OpenStackErrorDetails,
} from './errors';
export {
  DEFAULT_RETRY,
  parseRetryAfter,
  requestIdOf,
  type FetchLike,
  type HttpResponse,
  type RetryPolicy,
} from './http';
export {
  KeystoneAuth,
  findEndpoint,
  type CatalogEndpoint,
  type CatalogService,
  type EndpointInterface,
  type KeystoneAuthOptions,
  type KeystoneCredentials,
  type Token,
} from './keystone';
export { silentLogger, type OpenStackLogger } from './logger';
export {
  OpenStackSession,
  ServiceClient,
  type RequestOptions,
  type ServiceOptions,
  type SessionOptions,
} from './session';
export {
  MICROVERSIONS,
  cinder,
  glance,
  keystone,
  listFlavors,
  listImages,
  neutron,
  nova,
  type Flavor,
  type Image,
} from './services';
