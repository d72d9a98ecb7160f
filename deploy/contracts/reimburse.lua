-- reimburse.lua - reimbursement of an invoice, exactly once (docs/CONTRACTS.md).
--
-- reimburse(number, amount): records who reimbursed invoice `number` (amount in cents) and
--   when, emits 'reimbursed'; a second reimbursement of the same number is refused.
-- paid(number): the record, or nil.
-- total(): the number of invoices reimbursed and their sum.

function reimburse(number, amount)
  if type(number) ~= 'string' or #number == 0 or #number > 64 then
    error('the invoice number must be a string of 1..64 bytes')
  end
  if math.type(amount) ~= 'integer' or amount <= 0 then
    error('the amount must be a positive integer (cents)')
  end
  local key = 'paid/' .. number
  if storage.get(key) then
    error('invoice ' .. number .. ' was reimbursed already')
  end
  storage.put(key, {by = call.caller, amount = amount, height = call.height})
  local t = storage.get('total') or {count = 0, sum = 0}
  storage.put('total', {count = t.count + 1, sum = t.sum + amount})
  emit('reimbursed', {number = number, amount = amount})
  return {number = number, amount = amount}
end

function paid(number)
  return storage.get('paid/' .. number)
end

function total()
  return storage.get('total') or {count = 0, sum = 0}
end
