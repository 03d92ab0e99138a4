using System.Text.Json;
using Orleans.Storage;

namespace Glance.Grains.Storage;

/// <summary>
/// Grain state as the embedded store writes it (<see cref="StorageJson"/>: JSON, no type names),
/// for Orleans' Azure Blob grain storage, so both profiles store the same documents.
/// </summary>
public sealed class GrainStateJsonSerializer : IGrainStorageSerializer
{
    /// <inheritdoc />
    public BinaryData Serialize<T>(T? input) => new(JsonSerializer.SerializeToUtf8Bytes(input, StorageJson.Options));

    /// <inheritdoc />
    public T Deserialize<T>(BinaryData input) => input.ToObjectFromJson<T>(StorageJson.Options)!;
}
