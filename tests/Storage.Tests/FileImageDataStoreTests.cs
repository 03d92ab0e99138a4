using Glance.Grains.Storage;

namespace Glance.Storage.Tests;

/// <summary>The store contract on the filesystem store, in a throw-away directory.</summary>
public sealed class FileImageDataStoreTests : ImageDataStoreContract, IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("glance-images-").FullName;
    private readonly FileImageDataStore _store;

    public FileImageDataStoreTests() => _store = new FileImageDataStore(_directory);

    protected override IImageDataStore Store => _store;

    protected override Task<IReadOnlyList<string>> ListAsync(string prefix) =>
        Task.FromResult<IReadOnlyList<string>>(
            Directory.EnumerateFiles(_directory, prefix + "*").Select(Path.GetFileName).OfType<string>().ToList());

    [Fact]
    public void Opening_the_store_removes_nothing_and_recovery_removes_only_partial_files_older_than_its_start()
    {
        var partial = Path.Combine(_directory, $"{NewKey()}.{Guid.NewGuid():N}.partial");
        var live = Path.Combine(_directory, $"{NewKey()}.{Guid.NewGuid():N}.partial");
        var complete = Path.Combine(_directory, NewKey());
        File.WriteAllBytes(partial, [1, 2, 3]);
        File.WriteAllBytes(complete, [4]);
        File.WriteAllBytes(live, [5]);
        File.SetLastWriteTimeUtc(partial, DateTime.UtcNow.AddMinutes(-1));

        var store = new FileImageDataStore(_directory);
        Assert.True(File.Exists(partial)); // another node may be writing it

        Assert.Equal(1, store.DeletePartialFiles(DateTime.UtcNow.AddSeconds(-30)));
        Assert.False(File.Exists(partial));
        Assert.True(File.Exists(live));
        Assert.True(File.Exists(complete));
    }

    public void Dispose() => Directory.Delete(_directory, recursive: true);
}
