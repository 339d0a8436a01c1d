// The text calls of the contract (search.*, prompts.*), kept in their own block: free-text search over the
// project's embeddings with the model's text encoder, and how well a label's prompt ranks the labels already given.
import { z } from 'zod';
import { LEVELS } from './label-schema.ts';

const Text = z.string().trim().min(1, 'text must not be empty').max(1000);

export const TextHit = z.object({
  level: z.enum(LEVELS),
  /** The item found: an instance, series or study id, as `level` says. */
  itemId: z.number().int(),
  /** An image of the item (its first), for opening and showing it. */
  instanceId: z.number().int(),
  seriesId: z.number().int(),
  studyId: z.number().int(),
  /** Cosine similarity of the item's embedding to the text's. */
  score: z.number(),
  patientName: z.string(),
  studyDescription: z.string(),
  seriesDescription: z.string(),
});
export type TextHit = z.infer<typeof TextHit>;

export const PromptAuc = z.object({
  prompt: z.string(),
  /** One-vs-rest ROC AUC of the prompt's cosine score over the group's labelled items; null without both classes. */
  auc: z.number().nullable(),
  positives: z.number().int(),
  negatives: z.number().int(),
  /** Why there is no AUC (no labels yet, the model has no words for the prompt, ...). */
  note: z.string().nullable(),
});
export type PromptAuc = z.infer<typeof PromptAuc>;

export const textCalls = {
  /** The project's items nearest to a text, by cosine similarity to the text's embedding (the current model's text encoder). */
  'search.text': {
    input: z.object({ text: Text, level: z.enum(LEVELS).default('image'), k: z.number().int().min(1).max(500).default(20) }).strict(),
    result: z.object({ model: z.string(), modelSha256: z.string(), provider: z.string(), level: z.enum(LEVELS), items: z.array(TextHit) }),
  },
  /**
   * The prompt workbench: for one label, how well prompts (its own, or alternatives being tried) separate the items
   * already labelled with it from the group's other labelled items.
   */
  'prompts.auc': {
    input: z.object({
      group: z.string().min(1).max(64),
      label: z.string().min(1).max(64),
      /** Prompts to score; empty: the label's prompt in the schema. */
      prompts: z.array(z.string().max(1000)).max(10).default([]),
    }).strict(),
    result: z.object({ group: z.string(), label: z.string(), labelled: z.number().int(), results: z.array(PromptAuc) }),
  },
} as const;
