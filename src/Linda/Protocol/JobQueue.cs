namespace Linda;

/// <summary>
/// The queue protocol: the commands a queue actor takes, the replies it gives and the events it
/// persists. Every command is answered with exactly one reply; a refusal changes nothing.
/// </summary>
public static partial class JobQueue
{
    /// <summary>Everything in this protocol; bound to <c>LindaSerializer</c>.</summary>
    public interface IQueueMessage;

    /// <summary>A command to a queue actor.</summary>
    public interface ICommand : IQueueMessage;

    /// <summary>A command about one job of the queue.</summary>
    public interface IJobCommand : ICommand
    {
        /// <summary>
        /// The job the command is about: its id, or its sequence number in the queue in digits (which
        /// is the id of a job whose id was generated). Events and replies name it by its id.
        /// </summary>
        string JobId { get; }
    }

    /// <summary>A command that refers to a lease handed out by <see cref="Reserve"/>.</summary>
    public interface ILeaseCommand : IJobCommand
    {
        /// <summary>The lease token from <see cref="Reserved"/>.</summary>
        long Token { get; }
    }

    /// <summary>A reply from a queue actor.</summary>
    public interface IReply : IQueueMessage;

    /// <summary>A reply that says the command was refused or failed; nothing was changed.</summary>
    public interface IFailure : IReply
    {
        /// <summary>Why, in words.</summary>
        string Message { get; }
    }

    /// <summary>A persisted change of a queue. <see cref="At"/> is when it happened (absolute).</summary>
    public interface IEvent : IQueueMessage
    {
        /// <summary>When the change happened.</summary>
        DateTimeOffset At { get; }
    }
}
