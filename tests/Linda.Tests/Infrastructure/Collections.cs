using Xunit;

namespace Linda.Tests.Infrastructure;

/// <summary>
/// Specs that run real databases, processes or clusters: one at a time, never beside each other, so a
/// loaded 2-core CI machine doesn't turn timing into failures. Pure specs still run in parallel with them.
/// The collection runs one PostgreSQL server for the specs that run on both stores.
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class DatabaseCollection : ICollectionFixture<PostgresFixture>
{
    public const string Name = "database";
}
