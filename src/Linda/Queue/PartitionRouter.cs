using Akka.Actor;
using static Linda.JobQueue;

namespace Linda;

/// <summary>
/// A node's address of a partitioned queue (<see cref="QueuePartitions"/>): it takes every command sent
/// to the queue and sends it on to its partitions (their addresses on this node), with its sender kept
/// wherever one partition answers, so replies and leases go to the original sender.
/// <list type="bullet">
/// <item>A push goes to the partition of its key, else its own id, else the next in turn.</item>
/// <item>A command about a job goes to the partition its id names (<c>p{i}.{seq}</c>) or hashes to; a job
/// with an id of its own pushed by a key may live elsewhere: when its partition says
/// <see cref="NotFound"/>, the others are asked, and the command goes to the one that has it.</item>
/// <item>Stats, health, peeks, schedules and listings ask every partition and add up their answers
/// (<see cref="PartitionAnswers"/>); kick, pause and resume go to each.</item>
/// <item>A <see cref="Reserve"/> from a consumer other than Linda's workers (who ask the partitions
/// themselves) goes to the next partition in turn.</item>
/// </list>
/// A partition that is moving is asked again by the queues' delivery policy (<c>linda.delivery</c>), for
/// at most the ask timeout; one that doesn't answer within it makes the answer <see cref="Unavailable"/>,
/// which senders ask again (as while a queue moves).
/// </summary>
public sealed class PartitionRouter : UntypedActor
{
    private readonly string _queue;
    private readonly IReadOnlyList<IActorRef> _partitions;
    private readonly TimeSpan _askTimeout;
    private readonly AskAgain _askAgain;
    private long _turn;

    /// <summary>Use <see cref="Props"/>.</summary>
    public PartitionRouter(string queue, IReadOnlyList<IActorRef> partitions, AskAgain askAgain, TimeSpan askTimeout)
    {
        _queue = queue;
        _partitions = partitions;
        _askTimeout = askTimeout;
        _askAgain = askAgain with { GiveUpAfter = askTimeout };
    }

    /// <summary>
    /// Props for the router of <paramref name="queue"/>, whose partition i is reached through
    /// <paramref name="partitions"/>[i]; a moving partition is asked again by <paramref name="askAgain"/>
    /// for at most <paramref name="askTimeout"/>.
    /// </summary>
    public static Props Props(string queue, IReadOnlyList<IActorRef> partitions, AskAgain askAgain, TimeSpan askTimeout)
    {
        if (partitions.Count is < 1 or > QueuePartitions.MaxCount)
            throw new ArgumentException($"a queue has 1 to {QueuePartitions.MaxCount} partitions, not {partitions.Count}", nameof(partitions));
        return Akka.Actor.Props.Create(() => new PartitionRouter(queue, partitions, askAgain, askTimeout));
    }

    private int Count => _partitions.Count;

    /// <inheritdoc />
    protected override void OnReceive(object message)
    {
        var sender = Sender;
        switch (message)
        {
            case Push push:
                if (push.Queue != _queue)
                {
                    sender.Tell(new Rejected(RejectReason.WrongQueue, $"push for queue '{push.Queue}' was sent to queue '{_queue}'"));
                    break;
                }
                var p = QueuePartitions.OfPush(push, Count, push.Id is null && (push.ConcurrencyKey ?? push.UniqueKey) is null ? _turn++ : 0);
                _partitions[p].Tell(push with { Queue = QueuePartitions.NameOf(_queue, p) }, sender);
                break;
            case IJobCommand job:
                ToJob(job.JobId, job, sender);
                break;
            case ReportProgress progress:
                ToJob(progress.JobId, progress, sender);
                break;
            case Reserve:
                _partitions[(int)((ulong)_turn++ % (ulong)Count)].Tell(message, sender);
                break;
            case CancelReserve:
                // Each partition ends the sender's waiting reserves; the sender gets one answer.
                foreach (var partition in _partitions)
                    partition.Tell(message, sender);
                break;
            case AddOrUpdateSchedule s:
                _partitions[QueuePartitions.OfKey(s.ScheduleId, Count)].Tell(message, sender);
                break;
            case RemoveSchedule s:
                _partitions[QueuePartitions.OfKey(s.ScheduleId, Count)].Tell(message, sender);
                break;
            case GetStats:
                AskAll<QueueStats>(message, all => PartitionAnswers.Stats(_queue, all)).PipeTo(sender);
                break;
            case GetHealth:
                AskAll<QueueHealth>(message, all => PartitionAnswers.Health(_queue, all)).PipeTo(sender);
                break;
            case GetSchedules:
                AskAll<ScheduleList>(message, all => new ScheduleList(all.SelectMany(l => l.Schedules).ToArray())).PipeTo(sender);
                break;
            case PeekReady:
                PeekAll(message, JobState.Ready).PipeTo(sender);
                break;
            case PeekDelayed:
                PeekAll(message, JobState.Delayed).PipeTo(sender);
                break;
            case PeekBuried:
                PeekAll(message, JobState.Buried).PipeTo(sender);
                break;
            case Pause or JobQueue.Resume:
                AskAll<IReply>(message, all => all[0]).PipeTo(sender);
                break;
            case Kick kick:
                KickAsync(kick).PipeTo(sender);
                break;
            case ListJobs list:
                ListAsync(list).PipeTo(sender);
                break;
            case Locate:
                sender.Tell(new Located(Self)); // commands sent here reach the partitions
                break;
            case ICommand:
                sender.Tell(new Rejected(RejectReason.WrongQueue, $"queue '{_queue}' is partitioned: send {message.GetType().Name} to one of its partitions"));
                break;
            default:
                Unhandled(message);
                break;
        }
    }

    /// <summary>Sends a command about a job to the partition that has it (see the class comment).</summary>
    private void ToJob(string? id, ICommand command, IActorRef sender)
    {
        if (id is null || Count == 1 || QueuePartitions.NamedBy(id, Count) is not null)
        {
            _partitions[id is null ? 0 : QueuePartitions.OfId(id, Count)].Tell(command, sender);
            return;
        }
        FindAsync(id).ContinueWith(found =>
        {
            if (found.IsCompletedSuccessfully && found.Result is { } partition)
                _partitions[partition].Tell(command, sender);
            else if (found.IsCompletedSuccessfully)
                sender.Tell(new NotFound(id));
            else
                sender.Tell(new Unavailable($"queue '{_queue}': a partition did not say whether it has job '{id}': {found.Exception?.GetBaseException().Message}"));
        }, TaskScheduler.Default);
    }

    /// <summary>The partition that has job <paramref name="id"/> (one of its own): the one it hashes to, else any; null when none has it.</summary>
    private async Task<int?> FindAsync(string id)
    {
        var first = QueuePartitions.OfKey(id, Count);
        if (await Has(first))
            return first;
        var others = Enumerable.Range(0, Count).Where(i => i != first).ToArray();
        var answers = await Task.WhenAll(others.Select(Has));
        var at = Array.IndexOf(answers, true);
        return at < 0 ? null : others[at];

        async Task<bool> Has(int partition)
        {
            var reply = await AskAgainWhileMoving(partition, new Peek(id));
            return reply switch
            {
                JobView => true,
                NotFound => false,
                _ => throw new InvalidOperationException($"partition {partition} answered {reply.GetType().Name}"),
            };
        }
    }

    private async Task<IReply> AskAll<T>(object question, Func<IReadOnlyList<T>, IReply> combine) where T : IReply
    {
        IReply[] answers;
        try
        {
            answers = await Task.WhenAll(Enumerable.Range(0, Count).Select(i => AskAgainWhileMoving(i, question)));
        }
        catch (Exception e)
        {
            return new Unavailable($"queue '{_queue}': a partition did not answer {question.GetType().Name}: {e.GetBaseException().Message}");
        }
        for (var i = 0; i < answers.Length; i++)
        {
            if (answers[i] is not T)
                return answers[i] is IFailure ? answers[i] : new Unavailable($"queue '{_queue}': partition {i} answered {question.GetType().Name} with {answers[i].GetType().Name}");
        }
        return combine(answers.Cast<T>().ToArray());
    }

    private async Task<IReply> PeekAll(object question, JobState state)
    {
        try
        {
            var answers = await Task.WhenAll(Enumerable.Range(0, Count).Select(i => AskAgainWhileMoving(i, question)));
            return PartitionAnswers.Peek(state, answers);
        }
        catch (Exception e)
        {
            return new Unavailable($"queue '{_queue}': a partition did not answer a peek: {e.GetBaseException().Message}");
        }
    }

    /// <summary>Kicks up to the bound over the partitions in order: each takes what is left.</summary>
    private async Task<IReply> KickAsync(Kick kick)
    {
        var kicked = 0;
        for (var i = 0; i < Count && kicked < kick.Bound; i++)
        {
            try
            {
                var reply = await AskAgainWhileMoving(i, new Kick(kick.Bound - kicked));
                if (reply is not Kicked k)
                    return kicked > 0 ? new Kicked(kicked) : reply;
                kicked += k.Count;
            }
            catch (Exception e)
            {
                return kicked > 0 ? new Kicked(kicked) : new Unavailable($"queue '{_queue}': partition {i} did not answer a kick: {e.GetBaseException().Message}");
            }
        }
        return new Kicked(kicked);
    }

    /// <summary>
    /// One page over the partitions in order: from the partition the cursor names, each partition's
    /// jobs in the state's order (reversed: the partitions from the last), until the page is full.
    /// The total is every partition's.
    /// </summary>
    private async Task<IReply> ListAsync(ListJobs list)
    {
        int at;
        string? inner;
        if (list.After is null)
            (at, inner) = (list.Reverse ? Count - 1 : 0, null);
        else if (!PartitionAnswers.TryParseCursor(list.After, Count, out at, out inner))
            return new Rejected(RejectReason.InvalidCursor, $"'{list.After}' is not a cursor queue '{_queue}' gave");
        try
        {
            var totals = AskAll<QueueStats>(GetStats.Instance, all => PartitionAnswers.Stats(_queue, all));
            var page = new List<JobView>();
            string? next = null;
            var step = list.Reverse ? -1 : 1;
            for (var i = at; i >= 0 && i < Count; i += step)
            {
                var reply = await AskAgainWhileMoving(i, list with { After = i == at ? inner : null, Limit = list.Limit - page.Count });
                if (reply is not JobList part)
                    return reply;
                page.AddRange(part.Jobs);
                if (part.Next is not null)
                {
                    next = PartitionAnswers.Cursor(i, part.Next);
                    break;
                }
                if (page.Count == list.Limit)
                {
                    next = i + step >= 0 && i + step < Count ? PartitionAnswers.Cursor(i + step, null) : null;
                    break;
                }
            }
            var stats = await totals as QueueStats;
            var total = stats is null ? page.Count : list.State switch
            {
                JobState.Ready => stats.Ready,
                JobState.Delayed => stats.Delayed,
                JobState.Reserved => stats.Reserved,
                _ => stats.Buried,
            };
            return new JobList(list.State, page, next, total);
        }
        catch (Exception e)
        {
            return new Unavailable($"queue '{_queue}': a partition did not answer a listing: {e.GetBaseException().Message}");
        }
    }

    // A partition that is moving answers Unavailable: ask it again, as a client would, within the ask timeout.
    private async Task<IReply> AskAgainWhileMoving(int partition, object question)
    {
        var reply = await _askAgain.AskAsync(async _ => await _partitions[partition].Ask<IReply>(question, _askTimeout), TimeProvider.System);
        return reply!;
    }
}
