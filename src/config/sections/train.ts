import { z } from 'zod';

/** The two training phases. Reference values are the defaults. */
export const trainSection = z.strictObject({
  batch_size: z.number().int().min(1).default(32).describe('Images per optimisation step'),
  learning_rate: z.number().gt(0).default(5e-4).describe('Adam learning rate'),
  indexing_epochs: z.number().int().min(0).default(750).describe('Max epochs of phase 1 (image -> own ID)'),
  retrieval_epochs: z.number().int().min(0).default(75).describe('Max epochs of phase 2 (query -> relevant IDs); 0 skips it'),
  early_stop_accuracy: z.number().min(0).max(1).default(0.98)
    .describe('Phase 1 stops once exact-ID training accuracy stays at or above this'),
  early_stop_patience: z.number().int().min(1).default(3)
    .describe('Consecutive epochs at or above early_stop_accuracy before phase 1 stops'),
  early_stop_measure: z.enum(['train', 'clean']).default('train')
    .describe('What the phase 1 (and joint warm-up) early stop reads: train = exact-ID accuracy of the epoch\'s training steps (augmented views, dropout on; the reference); clean = exact-ID accuracy of every indexed image un-augmented in eval mode after each epoch (greedy IA@1, one extra forward pass per epoch), which reaches the threshold once the index is memorised even when augmented views keep training accuracy lower'),
  retrieval_learning_rate: z.number().gt(0).nullable().default(null)
    .describe('Adam learning rate of phase 2 (null: train.learning_rate); a lower rate forgets less of the index'),
  retrieval_patience: z.number().int().min(0).default(10)
    .describe('Phase 2 stops once the kept epoch (train.select_on) is this many epochs old (the kept checkpoint is the same); 0 runs all retrieval_epochs'),
  select_on: z.enum(['val_loss', 'val_p10']).default('val_loss')
    .describe('Phase 2 model selection on the val queries: val_loss keeps the lowest val loss; val_p10 decodes the val queries and the indexed images after every epoch (beam search over the trie, as dsi eval does) and keeps the best P@10 among epochs whose IA@1 is >= train.select_min_ia, or the highest-IA epoch when none is; retrieval_patience then counts epochs since that kept one'),
  select_min_ia: z.number().min(0).max(1).default(0.95)
    .describe('select_on=val_p10: the IA@1 floor an epoch must reach to be kept for its P@10'),
  index_replay: z.number().min(0).max(10).default(0)
    .describe('Phase 2 also rehearses this fraction of the indexed images (image -> own ID) every epoch, so fine-tuning does not erase the index; 0 is the reference (queries only), 1 replays every indexed image'),
  schedule: z.enum(['two_phase', 'joint']).default('two_phase')
    .describe('two_phase: indexing to early stop, then retrieval fine-tuning (the reference); joint: an indexing-only warm-up (train.joint_warmup_epochs, its checkpoint is the zero-shot model), then retrieval_epochs epochs that mix indexing and retrieval examples (train.joint_ratio), kept epoch chosen by train.select_on'),
  joint_warmup_epochs: z.number().int().min(0).default(10)
    .describe('schedule=joint: at most this many indexing-only epochs first (the phase 1 early stop still ends it sooner: train.early_stop_accuracy, early_stop_patience, early_stop_measure; also capped by indexing_epochs); the zero-shot model'),
  joint_ratio: z.number().gt(0).default(1)
    .describe('schedule=joint: indexing examples per retrieval example in every joint epoch (each epoch holds every indexed image x indexing_views and this many times fewer train-query examples)'),
  weight_decay: z.number().min(0).default(0)
    .describe('AdamW decoupled weight decay on weight matrices (w -= lr x weight_decay x w each step); 0 = Adam (the reference)'),
  lr_schedule: z.enum(['constant', 'cosine']).default('constant')
    .describe('Learning rate within each phase: constant (the reference) or cosine decay to 0 over the phase\'s max epochs (indexing_epochs, or joint_warmup_epochs; retrieval_epochs)'),
  warmup_steps: z.number().int().min(0).default(0)
    .describe('Linear learning-rate warm-up over the first this many optimizer steps of the run; 0 = none'),
  label_smoothing: z.number().min(0).lt(1).default(0)
    .describe('Label smoothing of the training loss (validation loss stays plain cross-entropy); 0 = none'),
  grad_clip_norm: z.number().min(0).default(0)
    .describe('Clip the global L2 norm of each step\'s gradients to this; 0 = no clipping'),
  dense_epochs: z.number().int().min(0).default(0)
    .describe('Epochs of the dense dual-encoder baseline trained after the DSI phases (same encoder, train.dense_objective over indexed images and train queries, cosine ranking; `dense` rows in dsi eval); 0 = none'),
  dense_objective: z.enum(['contrastive', 'classifier']).default('contrastive')
    .describe('The dense baseline\'s loss: contrastive = supervised contrastive over the batch; classifier = softmax over cosine similarities to one learned vector per class (a class-supervised encoder)'),
  dense_temperature: z.number().gt(0).default(0.1).describe('Temperature of the dense baseline\'s softmax (both objectives)'),
  workers: z.union([z.literal('auto'), z.number().int().min(1)]).default('auto')
    .describe('Worker threads that split each batch (data parallel); auto = one per core on wasm/cpu'),
  seed: z.number().int().default(42).describe('Seed for initialisation, shuffling and dropout'),
  indexing_views: z.number().int().min(1).default(1)
    .describe('Views of each indexed image per indexing epoch and per joint epoch (not index_replay); more than 1 only differs with augmentation on'),
  aug_crop_scale: z.number().gt(0).max(1).default(1)
    .describe('Augmentation (training images only): random resized crop of at least this fraction of the area, aspect 3/4..4/3, resized back; 1 = off'),
  aug_flip: z.number().min(0).max(1).default(0).describe('Augmentation: probability of a horizontal flip; 0 = off'),
  aug_color_jitter: z.number().min(0).max(1).default(0)
    .describe('Augmentation: colour jitter strength s (brightness, contrast, saturation factors in [1-s, 1+s]); 0 = off'),
  aug_erase: z.number().min(0).max(1).default(0)
    .describe('Augmentation: probability of random erasing (one rectangle of 2-25% of the area filled with noise); 0 = off'),
  max_targets_per_query: z.number().int().min(1).default(16)
    .describe('Phase 2: relevant IDs decoded per query image and epoch (a fresh random sample when it has more)'),
});

export type TrainConfig = z.infer<typeof trainSection>;
