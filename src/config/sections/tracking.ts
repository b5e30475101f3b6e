import { z } from 'zod';

/** Run logging. The local run store under experiments/ is always on. */
export const trackingSection = z.strictObject({
  wandb: z.enum(['auto', 'online', 'offline', 'disabled']).default('auto')
    .describe('auto: online when WANDB_API_KEY is set, else disabled (WANDB_MODE=offline|disabled respected); offline: record experiments/<run>/wandb-offline/ for `dsi runs sync`'),
  project: z.string().min(1).default('dsi').describe('W&B project (WANDB_PROJECT overrides)'),
  entity: z.string().min(1).nullable().default(null).describe('W&B entity (WANDB_ENTITY overrides)'),
});

export type TrackingConfig = z.infer<typeof trackingSection>;
