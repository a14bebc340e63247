using Akka.Actor;
using Linda.Hosting;
using static Linda.JobQueue;

namespace Linda.Dashboard;

/// <summary>
/// A queue's entry of the API: its stats and the node it runs on. A partitioned queue
/// (<see cref="ILindaClient.PartitionsOf"/>) is its partitions: each is asked for its stats and where it
/// runs directly (the queue's own address is a router on this node, which says nothing about where the
/// work runs), and the queue's counts are theirs added up as the queue itself adds them
/// (<see cref="PartitionAnswers.Stats"/>), so an entry's partitions always add up to it. A queue that
/// doesn't answer in time is shown as unavailable; so is a partitioned queue with a partition that
/// doesn't, whose entry then says which and still shows the partitions that did.
/// </summary>
internal static class QueueViews
{
    /// <summary>How long a queue, or each partition, has to answer its stats.</summary>
    private static readonly TimeSpan StatsTimeout = TimeSpan.FromSeconds(5);

    /// <summary>One queue's answer: its entry, or its failure (with its partitions' entries, for a partitioned queue).</summary>
    internal sealed record Answer(QueueJson? Json, IReply? Failure, IReadOnlyList<object>? Partitions)
    {
        /// <summary>The queue's entry in a listing: the queue, or <c>{name, error}</c> (and its partitions).</summary>
        public object Entry(string name) => Json ?? (object)new QueueErrorJson(name, ApiError.Of(Failure!)) { Partitions = Partitions };
    }

    public static async Task<Answer> GetAsync(ILindaClient client, ActorSystem system, string queue, CancellationToken ct)
    {
        var partitions = client.PartitionsOf(queue);
        if (partitions.Count == 0)
        {
            var one = await StatsAsync(client, system, queue, ct);
            return one.Stats is { } stats ? new Answer(QueueJson.Of(stats, one.Node), null, null) : new Answer(null, one.Failure, null);
        }
        var answers = await Task.WhenAll(partitions.Select(p => StatsAsync(client, system, p, ct)));
        var entries = answers.Select((a, i) => a.Stats is { } s ? QueueJson.Of(s, a.Node) : (object)new QueueErrorJson(partitions[i], ApiError.Of(a.Failure!)))
            .ToArray();
        var silent = Enumerable.Range(0, partitions.Count).Where(i => answers[i].Stats is null).ToArray();
        if (silent.Length > 0)
        {
            var names = string.Join(", ", silent.Select(i => partitions[i]));
            return new Answer(null, new Unavailable($"queue '{queue}': no stats from partition{(silent.Length == 1 ? "" : "s")} {names} "
                + $"({ApiError.Of(answers[silent[0]].Failure!).Message})"), entries);
        }
        var total = PartitionAnswers.Stats(queue, answers.Select(a => a.Stats!).ToArray());
        return new Answer(QueueJson.Of(total, node: null) with { Partitions = entries }, null, entries);
    }

    // A queue's (or partition's) stats, and the node it runs on when it says in time.
    private static async Task<(QueueStats? Stats, IReply? Failure, string? Node)> StatsAsync(ILindaClient client, ActorSystem system, string queue, CancellationToken ct)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
        timeout.CancelAfter(StatsTimeout);
        IReply reply;
        try
        {
            reply = await client.GetStatsAsync(queue, timeout.Token);
        }
        catch (Exception e) when (!ct.IsCancellationRequested && e is OperationCanceledException or AskTimeoutException)
        {
            reply = new Unavailable($"queue '{queue}' did not answer within {StatsTimeout.TotalSeconds:0} s");
        }
        if (reply is not QueueStats stats)
            return (null, reply, null);
        var node = system is ExtendedActorSystem { Provider: Akka.Cluster.ClusterActorRefProvider }
            ? await ClusterView.WhereAsync(client, queue, Akka.Cluster.Cluster.Get(system).SelfAddress, ct)
            : null;
        return (stats, null, node?.ToString());
    }
}
