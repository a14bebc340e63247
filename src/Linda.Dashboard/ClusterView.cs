using Akka.Actor;
using Akka.Cluster;
using Linda.Hosting;
using static Linda.JobQueue;

namespace Linda.Dashboard;

/// <summary>
/// The cluster page's data: every member (status, roles, reachable, leader), the queues each hosts
/// (each queue is asked where it runs; a partitioned queue's partitions each, <c>QUEUE~i</c>) and the
/// worker pools each runs (its <c>linda-node</c> actor is asked; null when it doesn't answer: a node
/// without Linda's hosting, such as Linda.Server's).
/// </summary>
internal static class ClusterView
{
    // How long a queue or a node has to answer before the page shows it without that answer.
    private static readonly TimeSpan AskTimeout = TimeSpan.FromSeconds(3);

    internal sealed record MemberJson(string Address, string Status, IReadOnlyList<string> Roles, bool Reachable, bool Leader, bool Self,
        IReadOnlyList<string> Queues, IReadOnlyList<NodeWorkers>? Workers);

    internal sealed record ClusterJson(string Self, string? Leader, IReadOnlyList<MemberJson> Members, IReadOnlyList<string> Unlocated);

    public static async Task<ClusterJson> GetAsync(ActorSystem system, ILindaClient client, CancellationToken ct)
    {
        var cluster = Cluster.Get(system);
        var state = cluster.State;
        var self = cluster.SelfAddress;
        var located = await Task.WhenAll(Hosted(client).Select(async q => (Queue: q, Node: await WhereAsync(client, q, self, ct))));
        var members = await Task.WhenAll(state.Members.Select(async m =>
        {
            var reachable = !state.Unreachable.Contains(m);
            var workers = reachable && m.Status == MemberStatus.Up ? await WorkersAsync(system, m.Address, ct) : null;
            return new MemberJson(m.Address.ToString(), m.Status.ToString(), m.Roles.Order(StringComparer.Ordinal).ToArray(), reachable,
                state.Leader == m.Address, m.Address == self,
                located.Where(l => l.Node == m.Address).Select(l => l.Queue).ToArray(), workers);
        }));
        return new ClusterJson(self.ToString(), state.Leader?.ToString(), members, located.Where(l => l.Node is null).Select(l => l.Queue).ToArray());
    }

    /// <summary>
    /// What runs on some node: every queue, a partitioned queue as its partitions (in order), since its
    /// own address is a router on this node that would only name this node.
    /// </summary>
    private static IEnumerable<string> Hosted(ILindaClient client) =>
        client.Queues.Order(StringComparer.Ordinal).SelectMany(q => client.PartitionsOf(q) is { Count: > 0 } partitions ? partitions : [q]);

    /// <summary>The node the queue (or partition) runs on, or null when it doesn't say in time.</summary>
    public static async Task<Address?> WhereAsync(ILindaClient client, string queue, Address self, CancellationToken ct)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
        timeout.CancelAfter(AskTimeout);
        try
        {
            return await client.SendAsync(queue, Locate.Instance, timeout.Token) is Located { Queue: var actor }
                ? actor.Path.Address.HasLocalScope ? self : actor.Path.Address
                : null;
        }
        catch (Exception) when (!ct.IsCancellationRequested)
        {
            return null;
        }
    }

    private static async Task<IReadOnlyList<NodeWorkers>?> WorkersAsync(ActorSystem system, Address node, CancellationToken ct)
    {
        try
        {
            var info = await system.ActorSelection(new RootActorPath(node) / "user" / LindaNode.ActorName)
                .Ask<NodeInfo>(GetNodeInfo.Instance, AskTimeout, ct);
            return info.Workers;
        }
        catch (Exception) when (!ct.IsCancellationRequested)
        {
            return null;
        }
    }
}
