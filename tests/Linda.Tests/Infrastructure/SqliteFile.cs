using Microsoft.Data.Sqlite;

namespace Linda.Tests.Infrastructure;

/// <summary>A spec's own statements on a queue's SQLite file (a trigger that fails writes, a look at a table).</summary>
public static class SqliteFile
{
    /// <summary>Runs <paramref name="sql"/> on the file at <paramref name="path"/>, on a connection of its own.</summary>
    public static void Execute(string path, string sql)
    {
        using var connection = new SqliteConnection(Linda.Persistence.SqlitePersistence.ConnectionString(path));
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        command.ExecuteNonQuery();
    }
}
