/** A ranking for one query: indexed-image IDs best first, with the score that ranked them. */
export interface RankedList {
  ids: number[];
  scores: number[];
}
