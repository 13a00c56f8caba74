import type { StorePort } from '../store/port.js';
import { observedBy } from './commit-view.js';
import { HoldView } from './hold-view.js';
import { RecordView } from './record-view.js';

/** The rules' in-process views of what is committed (issue 17): who holds which hours, and prescriptions. */
export interface WorkflowViews {
  holds: HoldView;
  records: RecordView;
}

const views = new WeakMap<StorePort, WorkflowViews>();

/**
 * The store, observed by new views of what is committed through it (`commit-view.ts`), which the
 * rules find by the store (`viewsOf`). Every write must go through the returned store. Unchanged
 * without `StorePort.revision` (MongoDB): the rules then ask the store.
 */
export function withWorkflowViews(store: StorePort): StorePort {
  if (!store.revision) return store;
  const kept: WorkflowViews = { holds: new HoldView(), records: new RecordView() };
  const observed = observedBy(store, [kept.holds, kept.records]);
  views.set(observed, kept);
  return observed;
}

/** The views kept for this store, if any. */
export function viewsOf(store: StorePort): WorkflowViews | undefined {
  return views.get(store);
}
