/** What each tab of an instance's page gets: the instance, its status, and whether the user may change it. */
export interface InstancePanelProps {
  projectId: string;
  instanceId: string;
  status: string;
  canWrite: boolean;
}
