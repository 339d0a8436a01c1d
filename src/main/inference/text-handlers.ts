// Text search calls: parsed input in, the contract's result out.
import type { AreaHandlers } from '../../shared/contract.ts';
import type { TextSearch } from './text-search.ts';

export function searchHandlers(search: TextSearch): AreaHandlers<'search'> {
  return { 'search.text': (input) => search.search(input) };
}
