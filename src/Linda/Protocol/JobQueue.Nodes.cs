namespace Linda;

public static partial class JobQueue
{
    /// <summary>
    /// Asks a node's <c>/user/linda-node</c> actor what Linda runs there (the dashboard's cluster page):
    /// answered with <see cref="NodeInfo"/>.
    /// </summary>
    public sealed record GetNodeInfo : IQueueMessage
    {
        /// <summary>The one instance.</summary>
        public static readonly GetNodeInfo Instance = new();
    }

    /// <summary>What Linda runs on one node.</summary>
    /// <param name="Address">The node's cluster address.</param>
    /// <param name="Workers">The worker pools on the node: a queue and how many workers pull from it.</param>
    public sealed record NodeInfo(string Address, IReadOnlyList<NodeWorkers> Workers) : IQueueMessage
    {
        /// <summary>Equal when the address and every pool are.</summary>
        public bool Equals(NodeInfo? other) =>
            other is not null && Address == other.Address && Workers.SequenceEqual(other.Workers);

        /// <inheritdoc />
        public override int GetHashCode() => HashCode.Combine(Address, Workers.Count);
    }

    /// <summary>A worker pool: the queue it pulls from and its size.</summary>
    public sealed record NodeWorkers(string Queue, int Workers);
}
