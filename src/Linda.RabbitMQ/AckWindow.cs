namespace Linda.RabbitMQ;

/// <summary>
/// Acknowledges the deliveries of one consuming channel, many with one frame. Delivery tags of a
/// channel count up from 1 with no gap; once every tag up to N is settled, one <c>basic.ack(N,
/// multiple)</c> acknowledges them all, and while that frame is on its way, the tags settled meanwhile
/// wait for the next one (as the journal batches the writes that come while one is in flight). A
/// message settled above a gap (an earlier one is still held: its Linda queue is away) would wait for
/// that gap; once <see cref="MaxWaitingAboveGap"/> such messages wait, they are acknowledged one by
/// one, so a held message never takes the whole prefetch window with it.
/// </summary>
internal sealed class AckWindow(Func<ulong, bool, Task> ack)
{
    /// <summary>How many messages settled above a gap wait for it before they are acknowledged one by one.</summary>
    public const int MaxWaitingAboveGap = 32;

    private readonly object _lock = new();
    private readonly SortedSet<ulong> _waiting = [];       // settled above the gap, not acknowledged
    private readonly HashSet<ulong> _doneAboveGap = [];    // above the gap, settled with RabbitMQ already (acked alone or nacked)
    private ulong _contiguous;  // every tag up to this is settled
    private ulong _target;      // the highest of those that needs an ack (a multiple ack must name a tag RabbitMQ still holds)
    private ulong _sent;        // a multiple ack up to this was sent
    private bool _sending;

    /// <summary>Acknowledges <paramref name="tag"/> (with the next frame, or alone, see above); returns once the frames this call took on are sent.</summary>
    public Task AckAsync(ulong tag) => SettleAsync(tag, settledWithRabbit: false);

    /// <summary>A tag settled with RabbitMQ another way (a nack): it needs no ack, and the acks may pass it.</summary>
    public Task SkipAsync(ulong tag) => SettleAsync(tag, settledWithRabbit: true);

    private async Task SettleAsync(ulong tag, bool settledWithRabbit)
    {
        lock (_lock)
        {
            if (settledWithRabbit)
                _doneAboveGap.Add(tag);
            else
                _waiting.Add(tag);
            Advance();
            if (_sending || (_target == _sent && _waiting.Count < MaxWaitingAboveGap))
                return;
            _sending = true;
        }
        try
        {
            while (true)
            {
                ulong upTo;
                ulong[] alone = [];
                lock (_lock)
                {
                    upTo = _target;
                    if (_waiting.Count >= MaxWaitingAboveGap)
                    {
                        alone = [.. _waiting];
                        _waiting.Clear();
                        _doneAboveGap.UnionWith(alone);
                    }
                    if (upTo == _sent && alone.Length == 0)
                    {
                        _sending = false;
                        return;
                    }
                }
                if (upTo != _sent)
                {
                    await ack(upTo, true);
                    lock (_lock)
                        _sent = upTo;
                }
                foreach (var one in alone)
                    await ack(one, false);
            }
        }
        catch
        {
            lock (_lock)
                _sending = false;
            throw;
        }
    }

    /// <summary>Moves the gap up over every tag settled right above it.</summary>
    private void Advance()
    {
        while (true)
        {
            var next = _contiguous + 1;
            if (_waiting.Remove(next))
                _target = next;
            else if (!_doneAboveGap.Remove(next))
                return;
            _contiguous = next;
        }
    }
}
