namespace Linda;

public static partial class JobQueue
{
    /// <summary>
    /// A message for the queue named <paramref name="Queue"/>, as the sharded placement sends it: the
    /// queue name is the entity id, and the queue actor receives <paramref name="Message"/> alone
    /// (with the original sender). Most commands don't name their queue (a <see cref="Complete"/> has
    /// a job id and a token), so every message to a sharded queue travels in one of these.
    /// </summary>
    /// <param name="Queue">The queue's name: the entity id (and the shard id) in the shard region.</param>
    /// <param name="Message">A command, or another message a queue takes.</param>
    public sealed record QueueEnvelope(string Queue, IQueueMessage Message) : IQueueMessage;
}
