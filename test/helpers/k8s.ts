// Kubernetes manifests in tests: parse multi-document YAML and validate each object against the
// Kubernetes (and CRD) JSON schemas shipped by the kubernetes-models packages.
import { existsSync } from 'node:fs';
import { parseAllDocuments } from 'yaml';

export interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  [k: string]: unknown;
}

/** Packages holding the model classes, by apiVersion. */
const MODELS: Record<string, string> = {
  v1: 'kubernetes-models/v1',
  'apps/v1': 'kubernetes-models/apps/v1',
  'autoscaling/v2': 'kubernetes-models/autoscaling/v2',
  'policy/v1': 'kubernetes-models/policy/v1',
  'networking.k8s.io/v1': 'kubernetes-models/networking.k8s.io/v1',
  'monitoring.coreos.com/v1': '@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1',
  'gateway.networking.k8s.io/v1': '@kubernetes-models/gateway-api/gateway.networking.k8s.io/v1',
};

export const HELM = 'node_modules/.bin/helm';
export const helmAvailable = () => existsSync(HELM);

export function parseManifests(text: string): K8sObject[] {
  return parseAllDocuments(text)
    .map((d) => {
      if (d.errors.length) throw new Error(`invalid YAML: ${d.errors[0]!.message}`);
      return d.toJS() as K8sObject | null;
    })
    .filter((o): o is K8sObject => o !== null);
}

/** Throws naming the object and the schema violation; unknown apiVersion/kind is an error too. */
export async function validateObject(o: K8sObject): Promise<void> {
  const where = `${o.kind}/${o.metadata?.name} (${o.apiVersion})`;
  const module = MODELS[o.apiVersion];
  if (!module) throw new Error(`${where}: no schema known for apiVersion ${o.apiVersion}`);
  const models = (await import(module)) as Record<string, new (data: unknown) => { validate(): void }>;
  const Model = models[o.kind];
  if (!Model) throw new Error(`${where}: ${o.apiVersion} has no kind ${o.kind}`);
  try {
    new Model(o).validate();
  } catch (err) {
    throw new Error(`${where}: ${(err as Error).message}`);
  }
}
