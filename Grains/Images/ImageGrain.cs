using System.Text.Json;
using Glance.Grains.Catalog;
using Glance.Grains.Properties;
using Glance.Grains.Storage;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Glance.Grains.Images;

/// <summary>
/// One image's metadata and lifecycle. The grain is the single writer of its image, so the
/// state machine needs no locks; after each write it publishes its entry to the catalog.
/// Imports run in the background of the grain (<c>ImageGrain.Import.cs</c>).
/// </summary>
[GrainType("glance.image")]
public sealed partial class ImageGrain(
    [PersistentState("image", GlanceStorage.ProviderName)] IPersistentState<ImageState> state,
    IOptions<ImageQuotaOptions> quotas,
    IOptions<ImageDataOptions> dataOptions,
    IImageDataStore dataStore,
    TimeProvider clock,
    ILogger<ImageGrain> logger,
    ImportTransfer transfers,
    IPropertySetStore propertySets,
    PropertyProtections protections) : Grain, IImageGrain, IImageImportGrain, IImageMaintenanceGrain, IImageStanding
{
    private readonly ImageQuotaOptions _quotas = quotas.Value;

    // The view is rebuilt only after a change: GETs are the hot path.
    private ImageRecord? _view;
    private ImmutableDictionary<string, MemberStatus>? _memberStatuses;
    private readonly Catalog.PublishRetry _catalogRetry = new();
    private readonly HashSet<string?> _formerOwners = [];
    private IGrainTimer? _uploadLeaseCheck;
    private DateTimeOffset _uploadLeaseEnds;

    private Guid Id => this.GetPrimaryKey();

    private ImageRecord View => _view ??= state.State.ToRecord(Id);

    async Task<ImageRecord> IImageGrain.CreateAsync(Caller caller, ImageDraft draft)
    {
        if (state.State.Status is not null)
        {
            throw GlanceException.Conflict($"Image ID {Id} already exists!");
        }
        if (string.IsNullOrEmpty(caller.ProjectId))
        {
            // An ownerless image would be every tenant's to see and nobody's to delete.
            throw GlanceException.Forbidden("A caller without a project cannot create images.");
        }
        var now = Now();
        var created = new ImageState { Status = ImageStatus.Queued, Owner = caller.ProjectId, CreatedAt = now, UpdatedAt = now };
        // Read-only and reserved names are refused (403) before any value is validated (400).
        foreach (var attribute in draft.Attributes.Keys.Where(a => a != "id"))
        {
            ImageSchema.EnsureWritable(attribute);
        }
        var changes = ImmutableArray.CreateBuilder<PropertyChange>();
        foreach (var (attribute, valueJson) in draft.Attributes)
        {
            if (attribute == "id")
            {
                EnsureSameId(valueJson);
            }
            else if (ImageAttributes.IsBase(attribute))
            {
                ImageSchema.Apply(created, attribute, valueJson, caller);
            }
            else
            {
                changes.Add(PatchChange(new PatchOperation(PatchOp.Add, attribute, valueJson)));
            }
        }
        if (changes.Count > 0)
        {
            // A new image's property set starts empty (reset), whatever an earlier failed create left.
            Project(created, await PreviewPropertiesAsync(caller, created, changes.ToImmutable(), reset: true));
        }
        EnsureQuotas(created);
        // previousOwner = the owner: a new image is in no shard, so there is no former shard to clear.
        await SaveAsync(created, previousOwner: created.Owner);
        return ImageAccess.ForCaller(caller, View, protections);
    }

    Task<ImageRecord> IImageGrain.GetAsync(Caller caller) => Task.FromResult(ImageAccess.ForCaller(caller, Visible(caller), protections));

    async Task<ImageRecord> IImageGrain.UpdateAsync(Caller caller, ImmutableArray<PatchOperation> operations)
    {
        var image = Modifiable(caller);
        var draft = state.State.Clone();
        var changes = ImmutableArray.CreateBuilder<PropertyChange>();
        // Everything is validated before anything is written: base attributes on the draft, property
        // changes by the property set (a preview, nothing written). The image write, carrying the
        // set's delta, is the patch's commit point; the set is written after it (see SaveAsync).
        foreach (var operation in operations)
        {
            ImageSchema.EnsureNotLocations(operation);
            ImageSchema.EnsureWritable(operation.Attribute);
            if (ImageAttributes.IsBase(operation.Attribute))
            {
                ApplyPatch(draft, operation, caller);
            }
            else
            {
                changes.Add(PatchChange(operation));
            }
        }
        if (changes.Count > 0)
        {
            Project(draft, await PreviewPropertiesAsync(caller, draft, changes.ToImmutable(), reset: false));
        }
        EnsureQuotas(draft);
        draft.UpdatedAt = Now();
        await SaveAsync(draft, image.Owner);
        return ImageAccess.ForCaller(caller, View, protections);
    }

    async Task<ImmutableArray<ImageProperty>> IImageGrain.ListPropertiesAsync(Caller caller)
    {
        var image = Visible(caller);
        var set = await CurrentPropertiesAsync();
        return [.. set.Properties.Values.Where(p => ImageAccess.CanSeeProperty(caller, image.Owner, p.Visibility, p.Owner) && protections.Allows(caller, p.Name, "read"))];
    }

    async Task<ImageProperty> IImageGrain.GetPropertyAsync(Caller caller, string name)
    {
        var image = Visible(caller);
        var set = await CurrentPropertiesAsync();
        return set.Properties.TryGetValue(name, out var property) && ImageAccess.CanSeeProperty(caller, image.Owner, property.Visibility, property.Owner)
            && protections.Allows(caller, name, "read")
            ? property
            : throw GlanceException.NotFound($"Property {name} not found for image {Id}.");
    }

    async Task<(ImageProperty Property, bool Created)> IImageGrain.SetPropertyAsync(Caller caller, string name, PropertyWrite write, string? ifMatch)
    {
        var preview = await ChangeOnePropertyAsync(caller, new PropertyChange(PropertyChangeKind.Put, name, write, ifMatch));
        return (preview.Set.Properties[name], preview.Created);
    }

    async Task IImageGrain.RemovePropertyAsync(Caller caller, string name, string? ifMatch) =>
        await ChangeOnePropertyAsync(caller, new PropertyChange(PropertyChangeKind.Remove, name, null, ifMatch));

    /// <summary>The properties subresource's one-property write: checked, applied, saved.</summary>
    private async Task<PropertyPreview> ChangeOnePropertyAsync(Caller caller, PropertyChange change)
    {
        var image = Modifiable(caller);
        ImageSchema.EnsurePropertyName(change.Name);
        var draft = state.State.Clone();
        var preview = await PreviewPropertiesAsync(caller, draft, [change], reset: false);
        Project(draft, preview);
        EnsureQuotas(draft);
        draft.UpdatedAt = Now();
        await SaveAsync(draft, image.Owner);
        return preview;
    }

    async Task IImageGrain.TagAsync(Caller caller, string tag)
    {
        var image = Modifiable(caller);
        ImageSchema.EnsureValidTag(tag);
        if (image.Tags.Contains(tag))
        {
            return;
        }
        var draft = state.State.Clone();
        draft.Tags.Add(tag);
        EnsureQuotas(draft);
        draft.UpdatedAt = Now();
        await SaveAsync(draft, image.Owner);
    }

    async Task IImageGrain.UntagAsync(Caller caller, string tag)
    {
        var image = Modifiable(caller);
        if (!image.Tags.Contains(tag))
        {
            throw GlanceException.NotFound($"Tag {tag} not found.");
        }
        var draft = state.State.Clone();
        draft.Tags.Remove(tag);
        draft.UpdatedAt = Now();
        await SaveAsync(draft, image.Owner);
    }

    Task IImageGrain.DeactivateAsync(Caller caller) =>
        MoveAsync(caller, ImageStatus.Deactivated, "deactivate", ImageStatus.Active);

    Task IImageGrain.ReactivateAsync(Caller caller) =>
        MoveAsync(caller, ImageStatus.Active, "reactivate", ImageStatus.Deactivated);

    async Task IImageGrain.DeleteAsync(Caller caller)
    {
        var image = Modifiable(caller);
        if (image.Protected)
        {
            throw GlanceException.Forbidden($"Image {Id} is protected and cannot be deleted.");
        }
        var draft = state.State.Clone();
        draft.Status = ImageStatus.Deleted;
        draft.UpdatedAt = Now();
        await SaveAsync(draft, image.Owner);
        // A running import stops and removes what it wrote (see FinishImportAsync).
        _running?.Cancel.Cancel();
        // The tombstone is durable first; if deleting the bytes fails, recovery retries it.
        // An upload still streaming keeps its ticket: the bytes it goes on to write are deleted
        // when it ends (Complete/Abort), or by recovery if the process dies first.
        await DeleteDataAsync(keepUpload: true);
    }

    async Task<UploadTicket> IImageGrain.BeginUploadAsync(Caller caller, UploadTarget target, long? declaredSize)
    {
        var image = Modifiable(caller);
        var next = target == UploadTarget.File ? ImageStatus.Saving : ImageStatus.Uploading;
        if (image.Status != ImageStatus.Queued)
        {
            throw GlanceException.Conflict(target == UploadTarget.Stage && image.Status == ImageStatus.Uploading
                ? $"Image {Id} already has staged data."
                : $"Image status transition from {WireNames.Of(image.Status)} to {WireNames.Of(next)} is not allowed");
        }
        if (target == UploadTarget.File && (image.DiskFormat is null || image.ContainerFormat is null))
        {
            throw GlanceException.BadRequest("Properties disk_format, container_format must be set prior to saving data.");
        }
        var maxBytes = await MaxUploadBytesAsync(image.Owner);
        if (declaredSize > maxBytes)
        {
            throw GlanceException.TooLarge($"Image size {declaredSize} exceeds the allowed maximum of {maxBytes} bytes.");
        }
        var uploadId = Guid.NewGuid();
        var draft = state.State.Clone();
        draft.Status = next;
        draft.Upload = new PendingUpload(uploadId, target, UploadKey(uploadId), Now(), declaredSize, maxBytes);
        draft.UpdatedAt = draft.Upload.StartedAt;
        await SaveAsync(draft, image.Owner);
        HoldUploadLease();
        return new UploadTicket(uploadId, draft.Upload.DataKey, maxBytes, UploadLease / 3);
    }

    Task<bool> IImageGrain.RenewUploadAsync(Guid uploadId)
    {
        if (state.State.Upload?.UploadId != uploadId || state.State.Status is null or ImageStatus.Deleted)
        {
            return Task.FromResult(false);
        }
        HoldUploadLease();
        return Task.FromResult(true);
    }

    private TimeSpan UploadLease => TimeSpan.FromSeconds(dataOptions.Value.UploadLeaseSeconds);

    /// <summary>
    /// (Re)starts the lease of the upload in state: it ends <see cref="UploadLease"/> from now unless
    /// renewed. A new activation grants a whole lease too, since the streaming node may be alive
    /// and renewing (it only lost the silo this grain was on).
    /// </summary>
    private void HoldUploadLease()
    {
        _uploadLeaseEnds = clock.GetUtcNow() + UploadLease;
        _uploadLeaseCheck ??= this.RegisterGrainTimer(CheckUploadLeaseAsync,
            new GrainTimerCreationOptions(UploadLease / 2, UploadLease / 2) { KeepAlive = true, Interleave = false });
    }

    private async Task CheckUploadLeaseAsync(CancellationToken cancellationToken)
    {
        if (state.State.Upload is not { } upload)
        {
            _uploadLeaseCheck?.Dispose();
            _uploadLeaseCheck = null;
            return;
        }
        if (clock.GetUtcNow() < _uploadLeaseEnds)
        {
            return;
        }
        logger.LogWarning("The upload {UploadId} of image {ImageId} lost its lease (its node stopped renewing): undoing it", upload.UploadId, Id);
        if (state.State.Status == ImageStatus.Deleted)
        {
            await DeleteDataAsync();
        }
        else
        {
            await UndoUploadAsync();
        }
        _uploadLeaseCheck?.Dispose();
        _uploadLeaseCheck = null;
    }

    async Task<ImageRecord> IImageGrain.CompleteUploadAsync(Guid uploadId, UploadedData data)
    {
        var upload = state.State.Upload;
        if (upload?.UploadId != uploadId || state.State.Status is null or ImageStatus.Deleted)
        {
            if (upload is not null && upload.UploadId == uploadId)
            {
                // Deleted during the upload: drop the bytes it just wrote before forgetting its key.
                await DeleteDataAsync();
            }
            else if (Holds(UploadKey(uploadId)) && state.State.Status is not (null or ImageStatus.Deleted))
            {
                // This upload already completed (a retry after a lost answer): the same answer again.
                return View;
            }
            else if (!Holds(UploadKey(uploadId)))
            {
                // A ticket this grain no longer holds (recovery or its lease undid it): its bytes are orphans.
                await dataStore.DeleteAsync(UploadKey(uploadId), CancellationToken.None);
            }
            throw new GlanceException(ErrorKind.Gone, $"Image {Id} could not be found after upload. The image may have been deleted during the upload.");
        }
        if (upload.MaxBytes is { } max && data.Size > max)
        {
            // The streaming tier enforces the cap as it writes; a completion past it (a direct
            // caller's numbers) is refused here too, so the rule holds for every caller.
            await UndoUploadAsync();
            throw GlanceException.TooLarge($"Image exceeds the storage limit of {max} bytes.");
        }
        if (upload.DeclaredSize is { } declared && declared != data.Size)
        {
            // The bytes are not what the uploader announced: drop them, back to queued for a retry.
            await UndoUploadAsync();
            throw GlanceException.BadRequest($"Image size {data.Size} does not match the declared size {declared}.");
        }
        var draft = state.State.Clone();
        draft.Upload = null;
        draft.Size = data.Size;
        draft.UpdatedAt = Now();
        if (upload.Target == UploadTarget.File)
        {
            draft.AcceptData(upload.DataKey, data, VirtualSizeOf(draft.DiskFormat, data), draft.UpdatedAt);
        }
        else
        {
            // Like Glance, a staged image shows its size but no hashes until it is imported.
            draft.StagedKey = upload.DataKey;
            draft.StagedChecksum = data.Md5;
            draft.StagedHashValue = data.Sha512;
            draft.StagedVirtualSize = data.VirtualSize;
            draft.StagedFormat = data.Format;
            draft.StagedUnsafe = data.Unsafe;
        }
        await SaveAsync(draft, draft.Owner);
        return View;
    }

    /// <summary>
    /// The virtual size as Glance's format inspector gives it: for raw, the size (none for no
    /// data); for another disk_format, what that format's header states, and none when the data
    /// does not carry that header (no error, as in Glance).
    /// </summary>
    private static long? VirtualSizeOf(string? diskFormat, UploadedData data) =>
        diskFormat == "raw" ? (data.Size > 0 ? data.Size : null)
        : diskFormat is not null && diskFormat == data.Format ? data.VirtualSize
        : null;

    (string? Owner, ImageStatus? Status) IImageStanding.Standing =>
        state.State.Status is null or ImageStatus.Deleted ? (null, null) : (state.State.Owner, state.State.Status);

    (UploadTarget Target, string? DiskFormat)? IImageStanding.PendingUpload(Guid uploadId) =>
        state.State.Upload is { } upload && upload.UploadId == uploadId && state.State.Status is not (null or ImageStatus.Deleted)
            ? (upload.Target, state.State.DiskFormat)
            : null;

    async Task IImageStanding.RefuseUploadAsync(Guid uploadId)
    {
        if (state.State.Upload?.UploadId == uploadId)
        {
            await UndoUploadAsync();
        }
    }

    async Task IImageGrain.AbortUploadAsync(Guid uploadId)
    {
        if (state.State.Upload?.UploadId != uploadId)
        {
            // Not (or no longer) this grain's ticket: still drop whatever was written under it,
            // unless that upload completed and its bytes are the image's now.
            if (!Holds(UploadKey(uploadId)))
            {
                await dataStore.DeleteAsync(UploadKey(uploadId), CancellationToken.None);
            }
            return;
        }
        if (state.State.Status == ImageStatus.Deleted)
        {
            // Deleted during the upload: never back to queued; just drop what it wrote.
            await DeleteDataAsync();
            return;
        }
        await UndoUploadAsync();
    }

    Task<ImageData?> IImageGrain.OpenDataAsync(Caller caller)
    {
        var image = Visible(caller);
        if (image.Status == ImageStatus.Deactivated && !caller.IsAdmin)
        {
            throw GlanceException.Forbidden("The requested image has been deactivated. Image data download is forbidden.");
        }
        var data = state.State.DataKey is { } key && image.Status is ImageStatus.Active or ImageStatus.Deactivated
            ? new ImageData(key, image.Size ?? 0, image.Checksum, image.OsHashValue,
                state.State.DataStoredAt ?? image.UpdatedAt, image.Visibility == ImageVisibility.Public)
            : null;
        return Task.FromResult(data);
    }

    async Task IImageMaintenanceGrain.RecoverDataAsync()
    {
        if (state.State.Upload is not null && state.State.Status != ImageStatus.Deleted)
        {
            await UndoUploadAsync();
        }
        if (state.State.Import is not null && state.State.Status != ImageStatus.Deleted && _running is null)
        {
            await RollBackInterruptedImportAsync();
        }
        if (state.State.Status == ImageStatus.Deleted)
        {
            await DeleteDataAsync();
        }
    }

    async Task<ImageMember> IImageGrain.AddMemberAsync(Caller caller, string memberId)
    {
        var image = Modifiable(caller);
        EnsureShared(image);
        if (string.IsNullOrWhiteSpace(memberId) || memberId.Length > ImageAttributes.MaxStringLength)
        {
            throw GlanceException.BadRequest("Member to be added not specified");
        }
        if (state.State.Members.ContainsKey(memberId))
        {
            throw GlanceException.Conflict($"Member {memberId} is duplicated for image {Id}");
        }
        if (state.State.Members.Count >= _quotas.ImageMemberQuota)
        {
            throw GlanceException.TooLarge($"Attempted: {state.State.Members.Count + 1}, Maximum: {_quotas.ImageMemberQuota}");
        }
        var now = Now();
        var draft = state.State.Clone();
        draft.Members[memberId] = new MemberState(MemberStatus.Pending, now, now);
        await SaveAsync(draft, image.Owner);
        return Member(memberId, draft.Members[memberId]);
    }

    Task<ImmutableArray<ImageMember>> IImageGrain.ListMembersAsync(Caller caller)
    {
        var image = Visible(caller);
        EnsureShared(image);
        var members = state.State.Members
            .Where(m => ImageAccess.CanModify(caller, image) || m.Key == caller.ProjectId)
            .Select(m => Member(m.Key, m.Value))
            .ToImmutableArray();
        return Task.FromResult(members);
    }

    Task<ImageMember> IImageGrain.GetMemberAsync(Caller caller, string memberId)
    {
        // Glance answers 404 for every failure here, so as not to say why.
        var notFound = GlanceException.NotFound($"{memberId} not found in the member list of the image {Id}.");
        if (state.State.Status is null or ImageStatus.Deleted || !ImageAccess.CanSee(caller, View, MemberStatuses()))
        {
            throw notFound;
        }
        if (View.Visibility != ImageVisibility.Shared || !state.State.Members.TryGetValue(memberId, out var member)
            || !(ImageAccess.CanModify(caller, View) || memberId == caller.ProjectId))
        {
            throw notFound;
        }
        return Task.FromResult(Member(memberId, member));
    }

    async Task<ImageMember> IImageGrain.SetMemberStatusAsync(Caller caller, string memberId, MemberStatus status)
    {
        var image = Visible(caller);
        // Only the owner may learn who else an image is shared with: to anyone else another
        // project's membership is absent, the same answer as for a project never added (as Glance).
        var mayKnow = ImageAccess.CanModify(caller, image) || memberId == caller.ProjectId;
        if (!mayKnow || !state.State.Members.TryGetValue(memberId, out var member) || image.Visibility != ImageVisibility.Shared)
        {
            throw GlanceException.NotFound($"Member {memberId} not found for image {Id}.");
        }
        if (!caller.IsAdmin && memberId != caller.ProjectId)
        {
            throw GlanceException.Forbidden("Only the member of a shared image may change its status.");
        }
        var draft = state.State.Clone();
        draft.Members[memberId] = member with { Status = status, UpdatedAt = Now() };
        await SaveAsync(draft, image.Owner);
        return Member(memberId, draft.Members[memberId]);
    }

    async Task IImageGrain.RemoveMemberAsync(Caller caller, string memberId)
    {
        var image = Visible(caller);
        if (!ImageAccess.CanModify(caller, image))
        {
            throw GlanceException.Forbidden("Only the owner of an image may remove its members.");
        }
        EnsureShared(image);
        if (!state.State.Members.ContainsKey(memberId))
        {
            throw GlanceException.NotFound($"Member {memberId} not found for image {Id}.");
        }
        var draft = state.State.Clone();
        draft.Members.Remove(memberId);
        await SaveAsync(draft, image.Owner);
    }

    async Task<bool> IImageMaintenanceGrain.RemoveUnheldDataAsync(string key)
    {
        if (DataKeys.ImageOf(key) != Id)
        {
            throw new ArgumentException($"'{key}' is not a data key of image {Id}.", nameof(key));
        }
        if (Holds(key) || key == state.State.Upload?.DataKey || !await dataStore.ExistsAsync(key, CancellationToken.None))
        {
            return false;
        }
        await dataStore.DeleteAsync(key, CancellationToken.None);
        logger.LogWarning("Deleted bytes {Key} of image {ImageId} that no upload, import or data of the image held", key, Id);
        return true;
    }

    async Task IImageMaintenanceGrain.RepairAsync()
    {
        if (state.State.Status is null)
        {
            return;
        }
        if (state.State.Status == ImageStatus.Deleted && state.State.Upload is null && _running is null)
        {
            await DeleteDataAsync();
        }
        // The former owner's shard too: a crash may have fallen between the two steps of an owner change.
        await PublishAsync(previousOwner: state.State.FormerOwner ?? state.State.Owner);
    }

    Task IImageMaintenanceGrain.PublishToCatalogAsync() =>
        state.State.Status is null ? Task.CompletedTask : PublishAsync(previousOwner: null);

    /// <summary>Back to queued after a failed upload: partial bytes deleted, size cleared.</summary>
    // Where an upload's bytes go: unique per upload, so a stale ticket's key can only name its own bytes.
    private string UploadKey(Guid uploadId) => DataKeys.For(Id, uploadId);

    /// <summary>Is <paramref name="key"/> bytes the image keeps (its data, its staged data, or an import's source or target)?</summary>
    private bool Holds(string key) =>
        key == state.State.DataKey || key == state.State.StagedKey
        || state.State.Import is { } import && (key == import.DataKey || key == import.SourceKey);

    private async Task UndoUploadAsync()
    {
        var upload = state.State.Upload!;
        await dataStore.DeleteAsync(upload.DataKey, CancellationToken.None);
        var draft = state.State.Clone();
        draft.Upload = null;
        draft.BackToQueued();
        draft.UpdatedAt = Now();
        await SaveAsync(draft, draft.Owner);
    }

    /// <summary>
    /// Deletes every blob a deleted image still holds, then forgets the keys; with
    /// <paramref name="keepUpload"/> the ticket of an upload in flight is kept, as its bytes may still come.
    /// </summary>
    private async Task DeleteDataAsync(bool keepUpload = false)
    {
        var keys = new[] { state.State.DataKey, state.State.StagedKey, state.State.Upload?.DataKey, state.State.Import?.DataKey }
            .OfType<string>().ToArray();
        if (keys.Length == 0)
        {
            return;
        }
        try
        {
            foreach (var key in keys)
            {
                await dataStore.DeleteAsync(key, CancellationToken.None);
            }
        }
        catch (Exception exception)
        {
            logger.LogWarning(exception, "Deleting the data of deleted image {ImageId} failed; start-up recovery retries", Id);
            return;
        }
        var draft = state.State.Clone();
        draft.DataKey = draft.StagedKey = null;
        draft.Upload = keepUpload ? draft.Upload : null;
        // A running import still writes: it deletes its own bytes and forgets itself when it ends.
        draft.Import = _running is null ? null : draft.Import;
        await SaveAsync(draft, draft.Owner);
    }

    /// <summary>The most bytes an upload may write: the size cap, or the owner's remaining quota.</summary>
    private async Task<long> MaxUploadBytesAsync(string? owner)
    {
        var options = dataOptions.Value;
        if (options.UserStorageQuota <= 0 || owner is null)
        {
            return options.ImageSizeCap;
        }
        var usage = await Task.WhenAll(this.CatalogShards().ForOwner(owner).Select(s => GrainFactory.GetGrain<ICatalogShardGrain>(s).UsageAsync(owner)));
        return Math.Max(0, Math.Min(options.ImageSizeCap, options.UserStorageQuota - usage.Sum()));
    }

    /// <summary>The image if the caller may see it; "not found" otherwise, never "forbidden".</summary>
    private ImageRecord Visible(Caller caller)
    {
        if (state.State.Status is null or ImageStatus.Deleted || !ImageAccess.CanSee(caller, View, MemberStatuses()))
        {
            throw GlanceException.NotFound($"No image found with ID {Id}");
        }
        return View;
    }

    /// <summary>The image if the caller may change it.</summary>
    private ImageRecord Modifiable(Caller caller)
    {
        var image = Visible(caller);
        if (!ImageAccess.CanModify(caller, image))
        {
            throw GlanceException.Forbidden($"You are not permitted to modify image {Id}.");
        }
        return image;
    }

    private async Task MoveAsync(Caller caller, ImageStatus target, string action, ImageStatus from)
    {
        var image = Modifiable(caller);
        if (image.Status == target)
        {
            return; // Glance treats a repeat as a no-op.
        }
        if (image.Status != from)
        {
            throw GlanceException.Forbidden($"Not allowed to {action} image in status '{WireNames.Of(image.Status)}'");
        }
        var draft = state.State.Clone();
        draft.Status = target;
        draft.UpdatedAt = Now();
        await SaveAsync(draft, image.Owner);
    }

    private void ApplyPatch(ImageState draft, PatchOperation operation, Caller caller)
    {
        var attribute = operation.Attribute;
        if (operation.Op == PatchOp.Remove)
        {
            throw GlanceException.Forbidden($"Properties {attribute} may not be removed.");
        }
        if (operation.ValueJson is null)
        {
            throw GlanceException.BadRequest($"Operation objects must contain exactly one member named \"value\".");
        }
        if (attribute is "container_format" or "disk_format"
            && draft.Status is not (ImageStatus.Queued or ImageStatus.Importing))
        {
            var current = attribute == "disk_format" ? draft.DiskFormat : draft.ContainerFormat;
            var wanted = JsonSerializer.Deserialize<string?>(operation.ValueJson);
            if (wanted != current)
            {
                throw GlanceException.Forbidden($"Attribute {attribute} can be only replaced for a queued image.");
            }
        }
        ImageSchema.Apply(draft, attribute, operation.ValueJson, caller);
    }

    /// <summary>A PATCH operation on an additional property as a change of the property set (its string value checked here).</summary>
    private static PropertyChange PatchChange(PatchOperation operation)
    {
        var kind = operation.Op switch
        {
            PatchOp.Remove => PropertyChangeKind.PatchRemove,
            PatchOp.Replace => PropertyChangeKind.PatchReplace,
            PatchOp.AddNew => PropertyChangeKind.PatchAddNew,
            _ => PropertyChangeKind.PatchAdd,
        };
        if (kind == PropertyChangeKind.PatchRemove)
        {
            ImageSchema.EnsureWritable(operation.Attribute);
            return new PropertyChange(kind, operation.Attribute, null, null);
        }
        if (operation.ValueJson is null)
        {
            throw GlanceException.BadRequest($"Operation objects must contain exactly one member named \"value\".");
        }
        var text = ImageSchema.PropertyText(operation.Attribute, operation.ValueJson);
        return new PropertyChange(kind, operation.Attribute, new PropertyWrite(JsonSerializer.Serialize(text)), null);
    }

    private IImagePropertiesGrain PropertySetGrain => GrainFactory.GetGrain<IImagePropertiesGrain>(Id);

    /// <summary>
    /// Asks the image's property set (which enforces the property rules) what the changes give,
    /// without writing; the caller projects the preview onto its draft and saves the image.
    /// </summary>
    private async Task<PropertyPreview> PreviewPropertiesAsync(Caller caller, ImageState draft, ImmutableArray<PropertyChange> changes, bool reset)
    {
        // The set must have every earlier change before a new one is computed on top of it.
        await CommitPendingPropertiesAsync();
        var definitions = await DefinitionsAsync(changes.Any(c => c.Write is not null));
        var batch = new PropertyBatch
        {
            Caller = caller,
            ImageOwner = draft.Owner,
            Changes = changes,
            Definitions = definitions,
            Quota = _quotas.ImagePropertyQuota,
            Reserved = draft.Properties.Keys.Count(IsServiceProperty),
            // An image written before property sets existed hands over its string properties once.
            Seed = !reset && state.State.PropertiesVersion == 0
                ? state.State.Properties.Where(p => !IsServiceProperty(p.Key)).ToImmutableDictionary(StringComparer.Ordinal)
                : null,
            Reset = reset,
            Now = Now(),
            MaxValueBytes = _quotas.ImagePropertyValueBytes,
        };
        return await PropertySetGrain.PreviewAsync(batch);
    }

    /// <summary>
    /// Sends the property-set delta that the stored image carries, if the set may not have it yet
    /// (the process died between the two writes, or the set's write failed). Idempotent.
    /// </summary>
    private async Task CommitPendingPropertiesAsync()
    {
        if (state.State.PendingProperties is { } pending)
        {
            await PropertySetGrain.CommitAsync(pending);
            // Only in memory: the stored copy is harmless (sent again, it changes nothing) and goes with the next write.
            state.State.PendingProperties = null;
        }
    }

    /// <summary>
    /// What an activation shows of the property set: read from its store, so that a cold read wakes
    /// one grain, not two; through the set's grain only when the store is behind the image (a delta the
    /// stored image still carries, or a set an earlier release stored whole, which the grain moves).
    /// </summary>
    private async Task<PropertySet> StoredPropertiesAsync()
    {
        var set = await propertySets.LoadAsync(Id);
        if (set.Version >= state.State.PropertiesVersion)
        {
            // The set has every delta the image carries.
            state.State.PendingProperties = null;
            return set;
        }
        set = await CurrentPropertiesAsync();
        if (set.Version < state.State.PropertiesVersion)
        {
            logger.LogError("The property set of image {ImageId} is at version {SetVersion}, behind the image's {ImageVersion}; showing what it holds",
                Id, set.Version, state.State.PropertiesVersion);
        }
        return set;
    }

    /// <summary>The property set as stored; for an image whose properties predate property sets, its string properties.</summary>
    private async Task<PropertySet> CurrentPropertiesAsync()
    {
        if (state.State.PropertiesVersion != 0)
        {
            await CommitPendingPropertiesAsync();
            return await PropertySetGrain.GetAsync();
        }
        var properties = state.State.Properties.Where(p => !IsServiceProperty(p.Key)).ToImmutableSortedDictionary(
            p => p.Key,
            p => new ImageProperty
            {
                Name = p.Key, ValueJson = JsonSerializer.Serialize(p.Value), Owner = state.State.Owner,
                CreatedAt = state.State.CreatedAt, UpdatedAt = state.State.UpdatedAt, ETag = $"v0-{state.State.Version}",
            },
            StringComparer.Ordinal);
        return new PropertySet(0, properties);
    }

    /// <summary>
    /// Replaces the draft's projection of the property set (service properties stay) with the
    /// preview's set, and records the delta the set is to be sent once the draft is saved.
    /// </summary>
    private static void Project(ImageState draft, PropertyPreview preview)
    {
        draft.PendingProperties = preview.Delta;
        Show(draft, preview.Set);
    }

    /// <summary>Replaces the draft's projection of the property set (service properties stay) with <paramref name="set"/>.</summary>
    private static void Show(ImageState draft, PropertySet set)
    {
        foreach (var key in draft.Properties.Keys.Where(k => !IsServiceProperty(k)).ToList())
        {
            draft.Properties.Remove(key);
        }
        draft.PropertyAccess.Clear();
        foreach (var (name, property) in set.Properties)
        {
            draft.Properties[name] = property.FlatValue;
            if (property.Visibility != PropertyVisibility.Public)
            {
                draft.PropertyAccess[name] = new PropertyAccess(property.Visibility, property.Owner);
            }
        }
        draft.PropertiesVersion = set.Version;
    }

    private static bool IsServiceProperty(string name) => name.StartsWith(ImageAttributes.ServicePrefix, StringComparison.Ordinal);

    /// <summary>
    /// The operator's property definitions, asked for once per write and only when the write sets
    /// additional properties (nothing is cached: a changed definition governs the very next write).
    /// </summary>
    private async Task<PropertyDefinitionSet> DefinitionsAsync(bool setsProperties) =>
        setsProperties ? await GrainFactory.PropertyDefinitions().ValidatorAsync() : PropertyDefinitionSet.Empty;

    private void EnsureQuotas(ImageState draft)
    {
        if (draft.MetadataBytes() is var bytes && bytes > _quotas.ImageMetadataBytes)
        {
            throw GlanceException.TooLarge($"Image metadata is too large: attempted {bytes} bytes of properties and tags, maximum {_quotas.ImageMetadataBytes}");
        }
        if (draft.Tags.Count > _quotas.ImageTagQuota)
        {
            throw GlanceException.TooLarge($"Maximum number of tags exceeded: attempted {draft.Tags.Count}, maximum {_quotas.ImageTagQuota}");
        }
    }

    private void EnsureSameId(string valueJson)
    {
        string? id = null;
        try
        {
            id = JsonSerializer.Deserialize<string?>(valueJson);
        }
        catch (JsonException)
        {
        }
        if (id is null || !Guid.TryParse(id, out var parsed) || parsed != Id)
        {
            throw GlanceException.BadRequest("Provided object does not match schema 'image': 'id' does not match the image's identifier");
        }
    }

    private void EnsureShared(ImageRecord image)
    {
        if (image.Visibility != ImageVisibility.Shared)
        {
            throw GlanceException.Forbidden($"Only shared images have members: image {Id} is {WireNames.Of(image.Visibility)}.");
        }
    }

    private async Task SaveAsync(ImageState draft, string? previousOwner)
    {
        draft.Version = state.State.Version + 1;
        if (previousOwner != draft.Owner)
        {
            // In the same write as the change, so a repair knows which shard may still hold the entry.
            draft.FormerOwner = previousOwner;
        }
        try
        {
            await state.ReplaceAsync(draft, DropViews);
        }
        catch (Orleans.Storage.InconsistentStateException) when (state.State.Status is not null)
        {
            // Storage had taken a write this grain did not hear back from (read again now): the
            // catalog gets that state, as a repair pass would send it; Orleans then drops the activation.
            await PublishAsync(previousOwner: state.State.FormerOwner ?? state.State.Owner, retryLater: false);
            throw;
        }
        if (draft.PendingProperties is not null)
        {
            try
            {
                await CommitPendingPropertiesAsync();
            }
            catch (Exception exception)
            {
                // The write stands (the image carries the delta); the next read or write of the set sends it again.
                logger.LogWarning(exception, "Writing the property set of image {ImageId} failed; it is sent again before the next use", Id);
            }
        }
        await PublishAsync(previousOwner);
    }

    /// <summary>
    /// Sends this image's entry to its catalog shard (and tells its former shard when the
    /// owner changed). On failure a timer retries; crash recovery re-sends at start-up.
    /// </summary>
    private static readonly TimeSpan CatalogCallTimeout = TimeSpan.FromSeconds(5);

    private async Task PublishAsync(string? previousOwner, bool retryLater = true)
    {
        var current = state.State;
        var shard = this.CatalogShards().Of(current.Owner, Id);
        if (previousOwner != current.Owner)
        {
            // Kept until its shard has dropped the entry: owner changes A -> B -> C with failed
            // publishes leave entries in both A's and B's shards, and the retry clears both.
            _formerOwners.Add(previousOwner);
        }
        try
        {
            foreach (var former in _formerOwners.ToList())
            {
                if (former != current.Owner && this.CatalogShards().Of(former, Id) is var oldShard && oldShard != shard)
                {
                    await GrainFactory.GetGrain<ICatalogShardGrain>(oldShard).RemoveAsync(Id, current.Version).WaitAsync(CatalogCallTimeout);
                }
                _formerOwners.Remove(former);
            }
            var catalog = GrainFactory.GetGrain<ICatalogShardGrain>(shard);
            // Bounded: a shard whose silo just died answers only after the cluster notices, and this
            // image's callers should not wait for that. The write stands; the retry catches up.
            if (current.Status == ImageStatus.Deleted)
            {
                await catalog.RemoveAsync(Id, current.Version).WaitAsync(CatalogCallTimeout);
            }
            else
            {
                await catalog.UpsertAsync(new CatalogEntry(View, MemberStatuses(), current.Version)).WaitAsync(CatalogCallTimeout);
            }
            _catalogRetry.Stop();
        }
        catch (Exception exception) when (!retryLater)
        {
            logger.LogError(exception, "Catalog update for image {ImageId} failed as its activation ended; the next repair pass sends it again", Id);
        }
        catch (Exception exception)
        {
            // The image write stands; the catalog catches up when the retry succeeds.
            logger.LogWarning(exception, "Catalog update for image {ImageId} failed; retrying", Id);
            _catalogRetry.Start(this, () => PublishAsync(state.State.Owner));
        }
    }

    private void DropViews()
    {
        _view = null;
        _memberStatuses = null;
    }

    private ImmutableDictionary<string, MemberStatus> MemberStatuses() =>
        _memberStatuses ??= state.State.Members.ToImmutableDictionary(m => m.Key, m => m.Value.Status);

    private ImageMember Member(string memberId, MemberState member) =>
        new(Id, memberId, member.Status, member.CreatedAt, member.UpdatedAt);

    // Glance keeps whole seconds; so do we, so that date filters and sorting agree with it.
    private DateTimeOffset Now()
    {
        var now = clock.GetUtcNow();
        return new DateTimeOffset(now.Ticks - now.Ticks % TimeSpan.TicksPerSecond, TimeSpan.Zero);
    }
}
