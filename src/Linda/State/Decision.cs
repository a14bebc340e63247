using static Linda.JobQueue;

namespace Linda;

/// <summary>
/// What a decision on a command came to: either a refusal (<see cref="Event"/> is <c>null</c> and
/// <see cref="Reply"/> is an <see cref="IFailure"/>), a reply that changes nothing, or an event to
/// persist and apply followed by <see cref="Reply"/>.
/// </summary>
public readonly record struct Decision(IEvent? Event, IReply Reply)
{
    internal static Decision Refuse(IFailure failure) => new(null, failure);
    internal static Decision Accept(IEvent e, IReply reply) => new(e, reply);
    internal static Decision Answer(IReply reply) => new(null, reply);
}
